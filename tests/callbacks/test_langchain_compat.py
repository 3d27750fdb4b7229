"""A handler written for otelchain is accepted by langchain-core and sees the same events."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake import FakeListLLM as LCFakeListLLM
from langchain_core.prompts import PromptTemplate as LCPromptTemplate

from otelchain.callbacks import BaseCallbackHandler, ConsoleCallbackHandler
from tests.helpers import Recorder


def test_otelchain_handler_in_a_langchain_core_chain() -> None:
    rec = Recorder()
    chain = LCPromptTemplate.from_template("1 + {number} =") | LCFakeListLLM(responses=["3"])
    assert chain.invoke({"number": 2}, config={"callbacks": [rec]}) == "3"
    names = rec.names
    assert names[0] == "on_chain_start" and names[-1] == "on_chain_end"
    assert "on_llm_start" in names and "on_llm_end" in names
    llm_start = next(e for e in rec.events if e.event == "on_llm_start")
    assert llm_start.payload == ["1 + 2 ="]
    assert llm_start.kwargs["parent_run_id"] == rec.events[0].kwargs["run_id"]


def test_from_methods_handler_in_langchain_core() -> None:
    seen: list[str] = []
    handler = BaseCallbackHandler.from_methods({"handleLLMStart": lambda llm, prompts: seen.extend(prompts)})
    LCFakeListLLM(responses=["x"]).invoke("hello", config={"callbacks": [handler]})
    assert seen == ["hello"]


def test_console_handler_in_langchain_core(capsys: Any) -> None:
    LCFakeListLLM(responses=["x"]).invoke("hello", config={"callbacks": [ConsoleCallbackHandler()]})
    out = capsys.readouterr().out
    assert "[llm/start]" in out and "[llm/end]" in out

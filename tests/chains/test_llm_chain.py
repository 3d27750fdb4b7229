"""LLMChain: outputs, run info, sync and async APIs."""

from __future__ import annotations

from typing import Any

import pytest

from otelchain import ChainOutput, RunInfo
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate


def _chain(model: Any = None) -> LLMChain:
    return LLMChain(
        llm=model or FakeListLLM([" 3\n\n3 - 1 = 2"]), prompt=PromptTemplate.from_template("1 + {number} =")
    )


def test_call_returns_outputs_with_hidden_run_info() -> None:
    out = _chain().call({"number": 2})
    assert out == {"text": " 3\n\n3 - 1 = 2"}
    assert list(out) == ["text"]
    assert isinstance(out, ChainOutput) and isinstance(out.run_info, RunInfo)
    assert out.run_info.run_id.version == 7


def test_include_run_info_adds_the_run_key() -> None:
    out = _chain().call({"number": 2}, include_run_info=True)
    assert out["__run"] == out.run_info


def test_return_inputs_too() -> None:
    assert _chain().call({"number": 2}, return_only_outputs=False) == {"number": 2, "text": " 3\n\n3 - 1 = 2"}
    assert _chain().invoke({"number": 2}) == {"number": 2, "text": " 3\n\n3 - 1 = 2"}


def test_run_and_predict_return_text_with_run_info() -> None:
    text = _chain().run(2)
    assert text == " 3\n\n3 - 1 = 2" and text.run_info is not None
    assert _chain().run(number=2) == " 3\n\n3 - 1 = 2"
    assert _chain().predict(number=2) == " 3\n\n3 - 1 = 2"
    with pytest.raises(TypeError, match="either one positional argument or keyword"):
        _chain().run(2, number=3)


def test_chat_model_in_a_chain() -> None:
    chat = FakeListChatModel(["four"])
    out = _chain(chat).call({"number": 3})
    assert out == {"text": "four"}


async def test_async_twins() -> None:
    chain = _chain()
    assert await chain.acall({"number": 2}) == {"text": " 3\n\n3 - 1 = 2"}
    assert await chain.arun(2) == " 3\n\n3 - 1 = 2"
    assert await chain.apredict(number=2) == " 3\n\n3 - 1 = 2"
    assert await chain.aapply([{"number": 1}, {"number": 2}]) == [{"text": " 3\n\n3 - 1 = 2"}] * 2
    assert (await chain.ainvoke({"number": 2}))["text"] == " 3\n\n3 - 1 = 2"


def test_constructor_type_errors_are_clear() -> None:
    with pytest.raises(TypeError, match="llm must be an otelchain model"):
        LLMChain(llm="gpt", prompt=PromptTemplate.from_template("x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prompt must be a PromptTemplate"):
        LLMChain(llm=FakeListLLM(["x"]), prompt="x")  # type: ignore[arg-type]


def test_invoke_config_rejects_unknown_keys() -> None:
    with pytest.raises(TypeError, match="unknown config key"):
        _chain().invoke({"number": 2}, {"callbcks": []})


def test_serialized_name_is_llm_chain() -> None:
    s = _chain().serialized()
    assert s["name"] == "llm_chain" and s["id"][-1] == "LLMChain"

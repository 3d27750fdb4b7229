"""Verbose mode and the console handler's format."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from otelchain.callbacks import CallbackManager, ConsoleCallbackHandler, set_verbose
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate


def _chain(verbose_chain: bool = False, verbose_llm: bool = False) -> LLMChain:
    llm = FakeListLLM([" 3\n\n3 - 1 = 2"], verbose=verbose_llm)
    return LLMChain(llm=llm, prompt=PromptTemplate.from_template("1 + {number} ="), verbose=verbose_chain)


def _heads(text: str) -> list[str]:
    return re.findall(r"^\[(\w+/\w+)\]", text, flags=re.M)


def test_verbose_on_an_object_logs_it_and_all_its_children(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed: `verbose: true` on the chain logs chain *and* LLM events."""
    _chain(verbose_chain=True).call({"number": 2})
    out = capsys.readouterr().out
    assert _heads(out) == ["chain/start", "llm/start", "llm/end", "chain/end"]
    assert "[chain/start] [1:chain:llm_chain] Entering Chain run with input:" in out
    assert "[llm/start] [1:chain:llm_chain > 2:llm:fake-list] Entering LLM run with input:" in out
    assert re.search(
        r"\[llm/end\] \[1:chain:llm_chain > 2:llm:fake-list\] \[[0-9.]+m?s\] Exiting LLM run", out
    )
    assert '"number": 2' in out and "prompt 1 + 2 =" in out


def test_verbose_child_only_logs_the_child(capsys: pytest.CaptureFixture[str]) -> None:
    _chain(verbose_llm=True).call({"number": 2})
    assert _heads(capsys.readouterr().out) == ["llm/start", "llm/end"]


@pytest.mark.parametrize("var", ["OTELCHAIN_VERBOSE", "LANGCHAIN_VERBOSE"])
def test_env_var_turns_on_verbose_for_the_whole_app(
    var: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(var, "true")
    set_verbose(None)  # the environment is read once, at import; re-read it
    _chain().call({"number": 2})
    assert _heads(capsys.readouterr().out) == ["chain/start", "llm/start", "llm/end", "chain/end"]
    monkeypatch.setenv(var, "false")
    set_verbose(None)
    _chain().call({"number": 2})
    assert capsys.readouterr().out == ""


def test_only_one_console_handler_is_ever_added(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    set_verbose(True)
    mine = ConsoleCallbackHandler()
    _chain(verbose_chain=True, verbose_llm=True).call({"number": 2}, [mine])
    assert _heads(capsys.readouterr().out) == ["chain/start", "llm/start", "llm/end", "chain/end"]
    m = CallbackManager.configure([], None, verbose=True)
    m2 = CallbackManager.configure(m, None, verbose=True)
    assert sum(isinstance(h, ConsoleCallbackHandler) for h in m2.handlers) == 1


def test_builtin_handler_passed_explicitly(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's built-in handler example: one handler on both the LLM and the chain."""
    handler = ConsoleCallbackHandler()
    llm = FakeListLLM([" 3\n\n3 - 1 = 2"], callbacks=[handler])
    chain = LLMChain(llm=llm, prompt=PromptTemplate.from_template("1 + {number} ="), callbacks=[handler])
    out = chain.call({"number": 2})
    assert out == {"text": " 3\n\n3 - 1 = 2"}
    text = capsys.readouterr().out
    assert _heads(text) == ["chain/start", "llm/start", "llm/end", "chain/end"]
    assert "1:chain:llm_chain > 2:llm:fake-list" in text


def test_error_lines_and_no_colour_off_a_tty() -> None:
    stream = io.StringIO()

    class Broken(FakeListLLM):
        def _generate(self, *a: Any, **k: Any) -> Any:
            raise ValueError("bad prompt")

    chain = LLMChain(llm=Broken(["x"]), prompt=PromptTemplate.from_template("{q}"))
    with pytest.raises(ValueError):
        chain.call({"q": "x"}, [ConsoleCallbackHandler(stream)])
    text = stream.getvalue()
    assert _heads(text) == ["chain/start", "llm/start", "llm/error", "chain/error"]
    assert "Chain run errored with error:" in text and "ValueError: bad prompt" in text
    assert "\x1b[" not in text


def test_colour_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(var, raising=False)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    _chain().call({"number": 2}, [ConsoleCallbackHandler(stream)])
    assert "\x1b[1;32m[chain/start]\x1b[0m" in stream.getvalue()


def test_objects_that_are_not_json_still_print() -> None:
    stream = io.StringIO()

    class Thing:
        def __init__(self) -> None:
            self.x = 1
            self.api_key = "sk-secret"

    chain = LLMChain(llm=FakeListLLM(["ok"]), prompt=PromptTemplate.from_template("{q}"))
    chain.call({"q": Thing()}, [ConsoleCallbackHandler(stream)])
    text = stream.getvalue()
    assert '"type": "Thing"' in text and '"x": 1' in text
    assert "sk-secret" not in text

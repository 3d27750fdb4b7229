"""Handlers: base classes, one-off handlers, from_methods, error policy, dispatch order."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import uuid
from typing import Any
from uuid import UUID

import pytest

from otelchain.callbacks import (
    AsyncCallbackHandler,
    AsyncCallbackManager,
    BaseCallbackHandler,
    CallbackManager,
    handler_error_counts,
)
from otelchain.callbacks._base import JS_EVENT_NAMES
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.schema import HumanMessage


def _chain(**llm_kwargs: Any) -> LLMChain:
    llm = FakeListLLM(["4"], **llm_kwargs)
    return LLMChain(llm=llm, prompt=PromptTemplate.from_template("2 + {n} ="))


EVENTS = [
    "on_llm_start",
    "on_chat_model_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_llm_error",
    "on_chain_start",
    "on_chain_end",
    "on_chain_error",
    "on_tool_start",
    "on_tool_end",
    "on_tool_error",
    "on_agent_action",
    "on_agent_finish",
    "on_retriever_start",
    "on_retriever_end",
    "on_retriever_error",
    "on_text",
    "on_retry",
    "on_custom_event",
]
FLAGS = [
    "ignore_llm",
    "ignore_chat_model",
    "ignore_chain",
    "ignore_agent",
    "ignore_retriever",
    "ignore_retry",
    "ignore_custom_event",
    "raise_error",
    "run_inline",
]


@pytest.mark.parametrize("cls", [BaseCallbackHandler, AsyncCallbackHandler])
def test_every_event_and_flag_exists(cls: type) -> None:
    for event in EVENTS:
        assert callable(getattr(cls, event)), event
        params = inspect.signature(getattr(cls, event)).parameters
        assert params["run_id"].kind is inspect.Parameter.KEYWORD_ONLY
    for flag in FLAGS:
        assert getattr(cls, flag) is False
    for event in EVENTS:
        assert inspect.iscoroutinefunction(getattr(AsyncCallbackHandler, event))


def test_signatures_match_langchain_core() -> None:
    """Same names and keyword arguments as langchain-core, so one handler works in both."""
    from langchain_core.callbacks import BaseCallbackHandler as LCHandler

    for event in EVENTS:
        ours = inspect.signature(getattr(BaseCallbackHandler, event)).parameters
        theirs = inspect.signature(getattr(LCHandler, event)).parameters
        for name, param in theirs.items():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                continue
            assert name in ours, f"{event} lacks {name}"
            assert ours[name].kind == param.kind, f"{event}.{name}"
    for flag in FLAGS:
        assert hasattr(LCHandler, flag)


def test_token_is_passed_by_keyword() -> None:
    seen: list[dict[str, Any]] = []

    class H(BaseCallbackHandler):
        def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
            seen.append({"args": args, **kwargs})

    FakeListLLM(["a b"], streaming=True).call("x", callbacks=[H()])
    assert [s["token"] for s in seen] == ["a", " b"]
    assert all(s["args"] == () for s in seen)
    assert all(isinstance(s["run_id"], UUID) for s in seen)


def test_one_off_mapping_and_plain_object() -> None:
    tokens: list[str] = []
    starts: list[str] = []

    class Plain:  # no base class, no flags, only one method
        def on_chain_start(self, serialized: dict[str, Any], inputs: Any, **kwargs: Any) -> None:
            starts.append(serialized["name"])

    chain = _chain(streaming=True)
    chain.call({"n": 2}, [{"on_llm_new_token": lambda token, **kw: tokens.append(token)}, Plain()])
    assert tokens == ["4"]
    assert starts == ["llm_chain"]


def test_one_off_js_names_and_short_signatures() -> None:
    """The seed's one-off handler: `{ handleLLMNewToken(token) { ... } }`."""
    tokens: list[str] = []

    class JsStyle:
        def handleLLMNewToken(self, token: str) -> None:
            tokens.append(token)

    FakeListLLM(["Why did"], streaming=True).call(
        "Tell me a joke.", None, [JsStyle(), {"handleLLMNewToken": tokens.append}]
    )
    assert tokens == ["Why", "Why", " did", " did"]


def test_from_methods_python_and_js_names() -> None:
    calls: list[tuple[str, Any]] = []
    handler = BaseCallbackHandler.from_methods(
        {
            "handleChainStart": lambda chain: calls.append(("chain", chain["name"])),
            "on_llm_start": lambda llm, prompts: calls.append(("llm", prompts)),
            "handleLLMEnd": lambda output: calls.append(("end", output.generations[0][0].text)),
            "raise_error": False,
        }
    )
    assert isinstance(handler, BaseCallbackHandler)
    _chain().call({"n": 2}, [handler])
    assert calls == [("chain", "llm_chain"), ("llm", ["2 + 2 ="]), ("end", "4")]
    assert set(JS_EVENT_NAMES.values()) == set(EVENTS)


def test_from_methods_object_and_async() -> None:
    seen: list[str] = []

    class Methods:
        async def handleChainStart(self, chain: dict[str, Any]) -> None:
            seen.append(chain["name"])

    handler = BaseCallbackHandler.from_methods(Methods())
    assert isinstance(handler, AsyncCallbackHandler)
    _chain().call({"n": 1}, [handler])  # async handler from sync code
    asyncio.run(_chain().acall({"n": 1}, [handler]))
    assert seen == ["llm_chain", "llm_chain"]


def test_from_methods_rejects_unknown_names_clearly() -> None:
    with pytest.raises(ValueError, match=r"unknown event name.*handleLLMNewTokn"):
        BaseCallbackHandler.from_methods({"handleLLMNewTokn": print})
    with pytest.raises(TypeError, match="must be callable"):
        BaseCallbackHandler.from_methods({"on_llm_start": 3})


def test_bad_callbacks_entry_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="callbacks must hold handler objects"):
        _chain().call({"n": 1}, ["not a handler"])


class RaisingHandler(BaseCallbackHandler):
    def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("handler bug")


class AsyncRaisingHandler(AsyncCallbackHandler):
    async def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("async handler bug")


@pytest.mark.parametrize("bad", [RaisingHandler, AsyncRaisingHandler])
def test_handler_errors_are_logged_counted_and_survived(bad: type, caplog: pytest.LogCaptureFixture) -> None:
    from tests.helpers import Recorder

    rec = Recorder()
    with caplog.at_level(logging.WARNING, logger="otelchain.callbacks"):
        out = _chain().call({"n": 2}, [bad(), rec])
        out2 = asyncio.run(_chain().acall({"n": 2}, [bad(), rec]))
    assert out == out2 == {"text": "4"}
    assert rec.names.count("on_chain_end") == 2  # the other handler still got everything
    assert f"{bad.__qualname__}.on_chain_start" in caplog.text
    assert handler_error_counts()[(bad.__qualname__, "on_chain_start")] == 2


@pytest.mark.parametrize("bad", [RaisingHandler, AsyncRaisingHandler])
def test_raise_error_propagates(bad: type) -> None:
    handler = bad()
    handler.raise_error = True
    with pytest.raises(RuntimeError, match="handler bug"):
        _chain().call({"n": 2}, [handler])
    with pytest.raises(RuntimeError, match="handler bug"):
        asyncio.run(_chain().acall({"n": 2}, [handler]))


def test_ignore_flags() -> None:
    from tests.helpers import Recorder

    no_llm, no_chain = Recorder(), Recorder()
    no_llm.ignore_llm = True
    no_chain.ignore_chain = True
    _chain(streaming=True).call({"n": 2}, [no_llm, no_chain])
    assert no_llm.names == ["on_chain_start", "on_chain_end"]
    assert no_chain.names == ["on_llm_start", "on_llm_new_token", "on_llm_end"]


def test_chat_model_start_falls_back_to_llm_start() -> None:
    from otelchain.chat_models import FakeListChatModel
    from tests.helpers import Recorder

    class OnlyLLM(BaseCallbackHandler):
        prompts: list[str]

        def on_llm_start(self, serialized: Any, prompts: list[str], **kwargs: Any) -> None:
            self.prompts = prompts

    only, rec = OnlyLLM(), Recorder()
    FakeListChatModel(["hi"]).call([("system", "be brief"), HumanMessage("hello")], callbacks=[only, rec])
    assert only.prompts == ["System: be brief\nHuman: hello"]
    assert rec.names[0] == "on_chat_model_start"
    ignoring = OnlyLLM()
    ignoring.ignore_chat_model = True
    FakeListChatModel(["hi"]).call("x", callbacks=[ignoring])
    assert not hasattr(ignoring, "prompts")


async def test_no_event_dropped_with_inline_and_async_handlers() -> None:
    """langchain-core #39633: non-inline handlers lost on_llm_start when an inline one existed."""
    seen: list[str] = []

    class Inline(AsyncCallbackHandler):
        run_inline = True

        async def on_llm_start(self, *a: Any, **k: Any) -> None:
            seen.append("inline")

    class Background(AsyncCallbackHandler):
        async def on_llm_start(self, *a: Any, **k: Any) -> None:
            seen.append("background")

    class Sync(BaseCallbackHandler):
        def on_llm_start(self, *a: Any, **k: Any) -> None:
            seen.append("sync")

    manager = AsyncCallbackManager([Inline(), Background(), Sync()])
    runs = await manager.on_llm_start({"name": "x"}, ["p1", "p2"])
    assert len(runs) == 2
    assert sorted(seen) == sorted(["inline", "background", "sync"] * 2)


async def test_sync_handler_in_async_code_sees_caller_contextvars() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []

    class H(BaseCallbackHandler):
        def on_chain_start(self, *a: Any, **k: Any) -> None:
            seen.append(var.get())

    var.set("request-42")
    await _chain().acall({"n": 1}, [H()])
    assert seen == ["request-42"]


async def test_async_handler_called_from_sync_code_inside_a_running_loop() -> None:
    seen: list[str] = []

    class A(AsyncCallbackHandler):
        async def on_chain_start(self, serialized: dict[str, Any], *a: Any, **k: Any) -> None:
            seen.append(serialized["name"])

    _chain().call({"n": 1}, [A()])  # sync API while this test's loop is running
    assert seen == ["llm_chain"]


def test_custom_event_and_text() -> None:
    got: list[tuple[str, Any]] = []

    class H(BaseCallbackHandler):
        def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
            got.append((name, data))

    manager = CallbackManager([H()])
    run = manager.on_chain_start({"name": "c"}, {})
    manager.on_custom_event("progress", {"pct": 50}, run_id=run.run_id)
    assert got == [("progress", {"pct": 50})]


def test_plain_object_with_short_python_signatures_and_passed_twice() -> None:
    tokens: list[str] = []

    class Short:
        def on_llm_new_token(self, token: str) -> None:
            tokens.append(token)

    one = Short()
    llm = FakeListLLM(["a b"], streaming=True, callbacks=[one])
    llm.call("x", callbacks=[one])
    assert tokens == ["a", " b"]  # adapted to its signature, and not called twice


def test_every_handler_of_an_event_reads_one_stamp_and_a_reused_id_starts_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otelchain.callbacks import _runs
    from otelchain.callbacks._runs import RunTreeHandler
    from tests.helpers.clock import FakeClock

    monkeypatch.setattr(_runs, "now_ns", FakeClock(tick_ns=1_000))
    first, second = RunTreeHandler(), RunTreeHandler()
    run_id = uuid.uuid4()
    for handler in (first, second):
        handler.on_chain_start({"name": "r"}, {}, run_id=run_id)
    a, b = first.runs[run_id], second.runs[run_id]
    assert a.start_ns == b.start_ns
    for handler in (first, second):
        handler.on_chain_end({}, run_id=run_id)
    assert a.end_ns is not None and a.end_ns == b.end_ns and a.end_ns > a.start_ns
    for _ in range(2 * _runs._STAMPS_KEPT + 1):  # other runs' events: the kept stamps turn over
        _runs.run_stamp_ns(uuid.uuid4(), False)
    first.on_chain_start({"name": "again"}, {}, run_id=run_id)  # the same id, a new run
    again = first.runs[run_id]
    second.on_chain_start({"name": "again"}, {}, run_id=run_id)
    assert again.start_ns > a.end_ns and second.runs[run_id].start_ns == again.start_ns

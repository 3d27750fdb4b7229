"""The model base classes: streaming tokens, run ends on every path, chat message coercion."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from otelchain.callbacks import BaseCallbackHandler
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.schema import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from tests.helpers import Recorder

JOKE = ["\n", "\n", "Q", ":", " Why", " did", " the", " chicken", " cross", " the", " playground", "?"]


def test_streaming_fires_each_token_before_it_is_yielded() -> None:
    order: list[str] = []
    llm = FakeListLLM([JOKE])
    for token in llm.stream(
        "Tell me a joke.", callbacks=[{"on_llm_new_token": lambda token, **k: order.append("cb:" + token)}]
    ):
        order.append("yield:" + token)
    expected = []
    for t in JOKE:
        expected += ["cb:" + t, "yield:" + t]
    assert order == expected


def test_streaming_true_on_generate_fires_tokens_and_returns_text() -> None:
    rec = Recorder()
    out = FakeListLLM([JOKE], streaming=True).call("Tell me a joke.", callbacks=[rec])
    assert out == "".join(JOKE)
    tokens = [e.payload for e in rec.events if e.event == "on_llm_new_token"]
    assert tokens == JOKE
    end = rec.events[-1]
    assert end.event == "on_llm_end"
    assert end.payload.llm_output["token_usage"]["completion_tokens"] == len(JOKE)


async def test_astream_and_async_streaming() -> None:
    rec = Recorder()
    got = [t async for t in FakeListLLM([JOKE]).astream("x", callbacks=[rec])]
    assert got == JOKE
    assert [e.payload for e in rec.events if e.event == "on_llm_new_token"] == JOKE
    rec2 = Recorder()
    msg = await FakeListChatModel([JOKE], streaming=True).acall("x", callbacks=[rec2])
    assert msg.content == "".join(JOKE) and msg.run_info is not None
    assert rec2.names[0] == "on_chat_model_start" and rec2.names[-1] == "on_llm_end"


def test_closed_stream_ends_the_run_with_an_error_event() -> None:
    rec = Recorder()
    stream = FakeListLLM([JOKE]).stream("x", callbacks=[rec])
    assert next(stream) == "\n"
    stream.close()
    assert rec.names == ["on_llm_start", "on_llm_new_token", "on_llm_error"]
    assert isinstance(rec.events[-1].payload, GeneratorExit)


def test_abandoned_stream_ends_the_run_when_collected() -> None:
    rec = Recorder()
    stream = FakeListLLM([JOKE]).stream("x", callbacks=[rec])
    next(stream)
    del stream
    gc.collect()
    assert rec.names[-1] == "on_llm_error"


async def test_cancelled_async_call_ends_the_run() -> None:
    rec = Recorder()
    started = asyncio.Event()
    on_start = BaseCallbackHandler.from_methods({"on_llm_start": lambda *a, **k: started.set()})
    llm = FakeListLLM(["a b c"], sleep=1.0, streaming=True)  # an await before each token
    task = asyncio.create_task(llm.acall("x", callbacks=[rec, on_start]))
    await started.wait()  # cancelled in its first await: after the start, before any token
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rec.names == ["on_llm_start", "on_llm_error"]
    assert isinstance(rec.events[-1].payload, asyncio.CancelledError)


def test_error_mid_stream_delivers_earlier_tokens_then_one_error() -> None:
    rec = Recorder()

    class Cut(FakeListLLM):
        def _stream(self, *a: Any, **k: Any) -> Any:
            yield from list(super()._stream(*a, **k))[:2]
            raise ConnectionResetError("stream cut")

    got: list[str] = []
    with pytest.raises(ConnectionResetError):
        for t in Cut(["a b c"]).stream("x", callbacks=[rec]):
            got.append(t)
    assert got == ["a", " b"]
    assert rec.names == ["on_llm_start", "on_llm_new_token", "on_llm_new_token", "on_llm_error"]


def test_batch_generate_one_run_per_prompt() -> None:
    rec = Recorder()
    result = FakeListLLM(["x", "y"]).generate(["p1", "p2"], callbacks=[rec])
    assert [g[0].text for g in result.generations] == ["x", "y"]
    assert result.run is not None and len({r.run_id for r in result.run}) == 2
    assert result.llm_output is not None and result.llm_output["token_usage"]["total_tokens"] == 4
    assert rec.names == ["on_llm_start", "on_llm_start", "on_llm_end", "on_llm_end"]
    with pytest.raises(TypeError, match="takes a list of inputs"):
        FakeListLLM(["x"]).generate("p1")


def test_chat_inputs_are_coerced_and_checked() -> None:
    rec = Recorder()
    chat = FakeListChatModel(["ok"])
    msg = chat.call([("system", "s"), {"role": "user", "content": "u"}, HumanMessage("h")], callbacks=[rec])
    assert isinstance(msg, AIMessage) and msg.content == "ok"
    sent = rec.events[0].payload[0]
    assert [type(m) for m in sent] == [SystemMessage, HumanMessage, HumanMessage]
    with pytest.raises(TypeError, match="message 0 is a int"):
        chat.call([42])
    with pytest.raises(TypeError, match="content must be a str"):
        chat.call([("user", 3)])


def test_chat_stream_yields_message_chunks() -> None:
    chunks = list(FakeListChatModel(["a b"]).stream("x"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(c.content for c in chunks) == "a b"


def test_fake_responses_must_be_a_list() -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        FakeListLLM("just a string")  # type: ignore[arg-type]

"""Streamed tokens as `new_token` span events; every stream's span ends, however it stops."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits
from opentelemetry.trace import StatusCode

from otelchain.callbacks import BaseCallbackHandler
from otelchain.callbacks import _runs as runs_module
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.schema import GenerationChunk
from tests.helpers import FakeClock, Traced, make_traced

JOKE = ["\n", "\n", "Q", ":", " Why", " did", " the", " chicken", " cross", " the", " playground", "?"]


def token_events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == "new_token"]


def rebuilt(span: ReadableSpan) -> str:
    return "".join(str(e.get("token.text", "")) for e in token_events(span))


def token_total(span: ReadableSpan) -> int:
    return sum(int(e.get("token.count", 1)) for e in token_events(span))


def test_each_token_is_an_event_with_index_and_text(traced: Traced) -> None:
    llm = FakeListLLM([JOKE], streaming=True)
    assert llm.call("Tell me a joke.", callbacks=[traced.handler]) == "".join(JOKE)
    (span,) = traced.spans
    events = token_events(span)
    assert [e["token.index"] for e in events] == list(range(len(JOKE)))
    assert [e["token.text"] for e in events] == JOKE
    assert all("token.count" not in e for e in events)
    a = dict(span.attributes or {})
    assert a["otelchain.streamed_tokens"] == len(JOKE)
    ttfc = a["gen_ai.response.time_to_first_chunk"]
    assert isinstance(ttfc, float) and 0 <= ttfc < 5


def test_time_to_first_chunk_measures_the_wait(traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a fake clock the model waits 0.05 s after its run starts (after the tracing handler
    saw the start) before its first token."""
    clock = FakeClock()
    monkeypatch.setattr(runs_module, "now_ns", clock.time_ns)
    wait = BaseCallbackHandler.from_methods({"on_llm_start": lambda *a, **k: clock.advance(0.05)})
    FakeListLLM([["a", "b"]], streaming=True).call("x", callbacks=[traced.handler, wait])
    ttfc = (traced.spans[0].attributes or {})["gen_ai.response.time_to_first_chunk"]
    assert ttfc == 0.05


def test_stream_api_emits_token_events(traced: Traced) -> None:
    chunks = list(FakeListChatModel([JOKE]).stream("joke", callbacks=[traced.handler]))
    assert "".join(c.content for c in chunks) == "".join(JOKE)
    (span,) = traced.spans
    assert rebuilt(span) == "".join(JOKE) and span.name == "chat fake-chat"


def test_10000_tokens_with_default_limits_lose_no_text(traced: Traced) -> None:
    tokens = [f" t{i}" for i in range(10_000)]
    text = FakeListLLM([tokens], streaming=True).call("count", callbacks=[traced.handler])
    (span,) = traced.spans
    events = token_events(span)
    assert len(span.events) <= 128 and span.dropped_events == 0
    assert rebuilt(span) == "".join(tokens) == text
    assert token_total(span) == 10_000
    assert events[0] == {"token.index": 0, "token.text": " t0"}  # the first token is never lost
    assert any(int(e.get("token.count", 1)) > 1 for e in events)
    # indexes are contiguous: each event starts where the previous one ended
    expected = 0
    for e in events:
        assert e["token.index"] == expected
        expected += int(e.get("token.count", 1))
    assert (span.attributes or {})["otelchain.streamed_tokens"] == 10_000


@pytest.mark.parametrize("max_events", [1, 2, 5, 16, 40, 129])
def test_small_event_limits_keep_every_token(max_events: int) -> None:
    t = make_traced(span_limits=SpanLimits(max_events=max_events))
    tokens = [f"<{i}>" for i in range(3_000)]
    FakeListLLM([tokens], streaming=True).call("x", callbacks=[t.handler])
    (span,) = t.spans
    assert len(span.events) <= max_events and span.dropped_events == 0
    assert token_total(span) == 3_000
    if max_events <= 5:
        # 17,890 characters in 1-4 event slots, each value at most 16,384 characters (issue 11):
        # what does not fit is cut with a note and counted in health().values_truncated
        text = rebuilt(span)
        assert text.endswith("chars]") and "".join(tokens).startswith(text[:16_000])
    else:
        assert rebuilt(span) == "".join(tokens)


def test_token_budget_leaves_room_for_the_exception_event() -> None:
    t = make_traced(span_limits=SpanLimits(max_events=20))

    class FailsLate(FakeListLLM):
        def _stream(self, input: str, **kwargs: Any) -> Iterator[GenerationChunk]:
            for i in range(500):
                yield GenerationChunk(f"{i},")
            raise TimeoutError("stream cut")

    with pytest.raises(TimeoutError):
        FailsLate(["x"], streaming=True).call("x", callbacks=[t.handler])
    (span,) = t.spans
    assert span.dropped_events == 0 and len(span.events) <= 20
    assert span.events[-1].name == "exception"
    assert rebuilt(span) == "".join(f"{i}," for i in range(500))


def test_a_stream_closed_early_ends_its_span(traced: Traced) -> None:
    stream = FakeListLLM([JOKE]).stream("joke", callbacks=[traced.handler])
    assert next(stream) == "\n"
    stream.close()
    (span,) = traced.spans
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "GeneratorExit"
    assert rebuilt(span) == "\n"


def test_an_abandoned_stream_ends_its_span_when_collected(traced: Traced) -> None:
    stream = FakeListLLM([JOKE]).stream("joke", callbacks=[traced.handler])
    next(stream)
    next(stream)
    assert traced.spans == ()
    del stream
    gc.collect()
    (span,) = traced.spans
    assert (span.attributes or {})["error.type"] == "GeneratorExit"
    assert token_total(span) == 2


async def test_a_cancelled_async_stream_ends_its_spans(traced: Traced) -> None:
    chain = LLMChain(
        llm=FakeListLLM([JOKE], streaming=True, sleep=0.01), prompt=PromptTemplate.from_template("{q}")
    )
    first = asyncio.Event()
    streaming = BaseCallbackHandler.from_methods({"on_llm_new_token": lambda *a, **k: first.set()})
    task = asyncio.create_task(chain.acall({"q": "joke"}, callbacks=[traced.handler, streaming]))
    await first.wait()  # cancelled mid-stream: after the first token, before the last
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(traced.spans) == 2
    for span in traced.spans:
        assert span.status.status_code is StatusCode.ERROR
        assert (span.attributes or {})["error.type"] == "asyncio.exceptions.CancelledError"
    llm = next(s for s in traced.spans if s.name.startswith("text_completion"))
    assert 1 <= token_total(llm) < len(JOKE)


async def test_astream_cancelled_between_steps(traced: Traced) -> None:
    first = asyncio.Event()
    streaming = BaseCallbackHandler.from_methods({"on_llm_new_token": lambda *a, **k: first.set()})

    async def consume() -> None:
        model = FakeListChatModel([JOKE], sleep=0.01)
        async for _ in model.astream("joke", callbacks=[traced.handler, streaming]):
            pass

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = traced.spans
    assert (span.attributes or {})["error.type"] == "asyncio.exceptions.CancelledError"

"""Retriever runs, and text, retry and custom events inside runs, on spans."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import tenacity
from opentelemetry.sdk.trace import SpanLimits

from otelchain.callbacks import AsyncCallbackManager, CallbackManager
from otelchain.schema import Document
from tests.helpers import Traced, make_traced


def test_retriever_run_is_a_retriever_span_with_documents(traced: Traced) -> None:
    cm = CallbackManager.configure([traced.handler])
    rm = cm.on_retriever_start({"name": "kb"}, "what is otel?")
    with rm.activate():
        rm.on_text("searching")
    rm.on_retriever_end([Document("OpenTelemetry is...", {"source": "a.md"}), Document("Spans are...")])
    (span,) = traced.spans
    a = dict(span.attributes or {})
    assert span.name == "kb" and a["openinference.span.kind"] == "RETRIEVER"
    assert a["otelchain.run_type"] == "retriever"
    assert a["input.value"] == "what is otel?"
    assert a["retrieval.documents.0.document.content"] == "OpenTelemetry is..."
    assert json.loads(str(a["retrieval.documents.0.document.metadata"])) == {"source": "a.md"}
    assert a["retrieval.documents.1.document.content"] == "Spans are..."
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [("text", {"text": "searching"})]


async def test_custom_and_retry_events_become_span_events(traced: Traced) -> None:
    cm = AsyncCallbackManager.configure([traced.handler])
    rm = await cm.on_chain_start({"name": "pipeline"}, {"q": 1})
    await rm.on_retry("attempt 2 after timeout")
    await cm.on_custom_event("progress", {"done": 3, "api_key": "sk-hidden"}, run_id=rm.run_id)
    await rm.on_chain_end({"a": 2})
    (span,) = traced.spans
    names = [e.name for e in span.events]
    assert names == ["retry", "progress"]
    progress = dict(span.events[1].attributes or {})
    assert json.loads(str(progress["data"])) == {"done": 3, "api_key": "[REDACTED]"}


def test_events_beyond_the_budget_are_counted_not_pushed_out() -> None:
    t = make_traced(span_limits=SpanLimits(max_events=8))
    cm = CallbackManager.configure([t.handler])
    rm = cm.on_chain_start({"name": "chatty"}, {})
    for i in range(50):
        rm.on_text(f"line {i}")
    rm.on_chain_end({})
    (span,) = t.spans
    assert span.dropped_events == 0 and len(span.events) <= 8
    assert dict(span.events[0].attributes or {}) == {"text": "line 0"}  # the oldest is kept
    assert (span.attributes or {})["otelchain.events_dropped"] == 50 - len(span.events)


@pytest.mark.parametrize("capture", [True, False])
def test_retry_event_records_attempt_wait_and_failure_not_the_state(capture: bool) -> None:
    t = make_traced(capture_content=capture)
    cm = CallbackManager.configure([t.handler])
    rm = cm.on_chain_start({"name": "flaky"}, {"q": 1})
    calls: list[str] = []

    def send(payload: str) -> str:
        calls.append(payload)
        if len(calls) < 3:
            raise TimeoutError(f"upstream slow (try {len(calls)})")
        return "ok"

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_fixed(0.001),
        before_sleep=lambda state: rm.on_retry(copy.copy(state)),
        reraise=True,
    )
    assert retrying(send, "sk-payload-in-args") == "ok"
    rm.on_chain_end({"a": 2})
    (span,) = t.spans
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert [name for name, _ in events] == ["retry", "retry"]
    for attempt, (_, attrs) in enumerate(events, start=1):
        expected: dict[str, Any] = {
            "otelchain.retry.attempt": attempt,
            "otelchain.retry.wait_s": pytest.approx(0.001),
            "otelchain.retry.idle_s": pytest.approx(0.001 * attempt),
            "exception.type": "TimeoutError",
        }
        if capture:
            expected["exception.message"] = f"upstream slow (try {attempt})"
        assert attrs == expected
    assert "sk-payload-in-args" not in repr(events)
    assert t.handler.error_counts == {}
    t.provider.shutdown()

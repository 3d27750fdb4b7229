"""Tracing tests: a real SDK TracerProvider with the in-memory exporter, and guards that every
test leaves no context attached, no global handler behind and logs no context-detach failure."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelchain.tracing import OpenTelemetryCallbackHandler, uninstrument


@dataclass
class Traced:
    """A provider exporting to memory, and an OTel handler on it."""

    provider: TracerProvider
    exporter: InMemorySpanExporter
    handler: OpenTelemetryCallbackHandler

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def by_name(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans if s.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r} in {[s.name for s in self.spans]}"
        return found[0]

    def tracer(self) -> trace.Tracer:
        return self.provider.get_tracer("tests")


def make_traced(span_limits: SpanLimits | None = None, **handler_options: Any) -> Traced:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=span_limits, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Traced(provider, exporter, OpenTelemetryCallbackHandler(provider, **handler_options))


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    t = make_traced()
    yield t
    assert t.handler.runs == {}, "run state left behind"
    assert t.handler.error_counts == {}, "the handler failed inside"
    t.provider.shutdown()


@pytest.fixture(autouse=True)
def _context_hygiene(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No context stays attached after a test and no 'Failed to detach context' is logged."""
    caplog.set_level(logging.WARNING)
    before = otel_context.get_current()
    yield
    uninstrument()
    assert otel_context.get_current() == before, "an OTel context was left attached"
    assert trace.get_current_span() is trace.INVALID_SPAN
    detach_failures = [r for r in caplog.records if "Failed to detach context" in r.getMessage()]
    assert not detach_failures


def tree(spans: Sequence[ReadableSpan]) -> list[tuple[str, str | None]]:
    """(span name, parent span name) pairs, sorted; None for roots."""
    by_id = {s.context.span_id: s.name for s in spans if s.context is not None}
    return sorted((s.name, by_id.get(s.parent.span_id) if s.parent else None) for s in spans)


def parent_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan | None:
    if span.parent is None:
        return None
    return next(
        (s for s in spans if s.context is not None and s.context.span_id == span.parent.span_id), None
    )


def all_strings(spans: Sequence[ReadableSpan]) -> str:
    """Every name and text attribute value of the spans and their events, as one text. Run ids
    and numbers are left out: random hex or a measured duration (``6.4256e-05``) could contain a
    searched-for number such as "256", and content is always text."""
    parts: list[str] = []
    for s in spans:
        parts.append(s.name)
        parts.append(str(s.status.description or ""))
        for key, value in (s.attributes or {}).items():
            if not key.endswith("run_id") and not isinstance(value, (bool, int, float)):
                parts.append(str(value))
        for event in s.events:
            parts.append(event.name)
            for value in (event.attributes or {}).values():
                if not isinstance(value, (bool, int, float)):
                    parts.append(str(value))
    return "\n".join(parts)

"""Spans in tests: a real SDK provider exporting to memory (`Traced`), the span-tree readers,
the span tally that sees spans which never end, the context guard, and a third-party span handler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelchain.callbacks import BaseCallbackHandler
from otelchain.tracing import OpenTelemetryCallbackHandler, uninstrument


class Tally(SpanProcessor):
    """Counts spans started and ended at the SDK, so a span that never ends is seen."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self.open: dict[int, str] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with self._lock:
            self.started += 1
            self.open[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.ended += 1
            self.open.pop(span.context.span_id, None)  # type: ignore[union-attr]


@dataclass
class Traced:
    """A traced app: a real provider exporting to memory, the OTel handler on it, and a tally of
    the spans the SDK started and ended."""

    provider: TracerProvider
    exporter: InMemorySpanExporter
    handler: OpenTelemetryCallbackHandler
    tally: Tally
    extra: list[Any] = field(default_factory=list)  # more run-tree handlers `assert_clean` checks

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def by_name(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans if s.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r} in {[s.name for s in self.spans]}"
        return found[0]

    def tracer(self) -> trace.Tracer:
        return self.provider.get_tracer("tests")

    def assert_clean(self) -> None:
        """Every span that started ended, and the handlers hold no run."""
        assert self.tally.open == {}, f"spans never ended: {sorted(self.tally.open.values())}"
        assert self.tally.started == self.tally.ended
        assert self.handler.runs == {}, f"runs left: {[r.name for r in self.handler.runs.values()]}"
        for h in self.extra:
            assert getattr(h, "runs", {}) == {}, f"runs left in {type(h).__name__}"


def make_traced(span_limits: SpanLimits | None = None, **handler_options: Any) -> Traced:
    """A fresh provider (tally, then the in-memory exporter) and an OTel handler on it; every
    naming scheme unless ``conventions`` says otherwise (the tests pin each vocabulary)."""
    handler_options.setdefault("conventions", "all")
    exporter = InMemorySpanExporter()
    tally = Tally()
    provider = TracerProvider(span_limits=span_limits, shutdown_on_exit=False)
    provider.add_span_processor(tally)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Traced(provider, exporter, OpenTelemetryCallbackHandler(provider, **handler_options), tally)


def tree(spans: Sequence[ReadableSpan]) -> list[tuple[str, str | None]]:
    """(span name, parent span name) pairs, sorted; None for roots."""
    by_id = {s.context.span_id: s.name for s in spans if s.context is not None}
    return sorted((s.name, by_id.get(s.parent.span_id) if s.parent else None) for s in spans)


def parent_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan | None:
    """The span's parent among ``spans`` (None for a root or a parent outside them)."""
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


@contextmanager
def context_hygiene(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No context stays attached after the block and no 'Failed to detach context' is logged
    (`uninstrument()` runs first, so a test's global handler never leaks into the next)."""
    caplog.set_level(logging.WARNING)
    before = otel_context.get_current()
    yield
    uninstrument()
    assert otel_context.get_current() == before, "an OTel context was left attached"
    assert trace.get_current_span() is trace.INVALID_SPAN
    detach_failures = [r for r in caplog.records if "Failed to detach context" in r.getMessage()]
    assert not detach_failures


class SpanContext:
    """A third-party handler's answer to ``otelchain_run_context``: the `RunContext` protocol."""

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def attach(self) -> object:
        return otel_context.attach(trace.set_span_in_context(self.span))

    def detach(self, token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]

    def trace_ids(self) -> tuple[str, str] | None:
        sc = self.span.get_span_context()
        return (format(sc.trace_id, "032x"), format(sc.span_id, "016x")) if sc.is_valid else None


class SpanHandler(BaseCallbackHandler):
    """One real span per run, parented by the parent run's span, offered to `activate()`."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = provider.get_tracer("test")
        self.spans: dict[UUID, trace.Span] = {}

    def _begin(self, name: str, run_id: UUID, parent_run_id: UUID | None) -> None:
        parent = self.spans.get(parent_run_id) if parent_run_id else None
        ctx = trace.set_span_in_context(parent) if parent is not None else otel_context.Context()
        self.spans[run_id] = self.tracer.start_span(name, context=ctx)

    def _finish(self, run_id: UUID) -> None:
        span = self.spans.pop(run_id, None)
        if span is not None:
            span.end()

    def otelchain_run_context(self, run_id: UUID) -> SpanContext | None:
        span = self.spans.get(run_id)
        return SpanContext(span) if span is not None else None

    def on_chain_start(self, serialized: dict[str, Any], inputs: Any, **kw: Any) -> None:
        self._begin(f"chain {serialized.get('name')}", kw["run_id"], kw.get("parent_run_id"))

    def on_llm_start(self, serialized: dict[str, Any], prompts: Any, **kw: Any) -> None:
        self._begin(f"llm {serialized.get('name')}", kw["run_id"], kw.get("parent_run_id"))

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, **kw: Any) -> None:
        self._begin(f"tool {serialized.get('name')}", kw["run_id"], kw.get("parent_run_id"))

    def on_chain_end(self, outputs: Any, **kw: Any) -> None:
        self._finish(kw["run_id"])

    def on_chain_error(self, error: BaseException, **kw: Any) -> None:
        self._finish(kw["run_id"])

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self._finish(kw["run_id"])

    def on_llm_error(self, error: BaseException, **kw: Any) -> None:
        self._finish(kw["run_id"])

    def on_tool_end(self, output: Any, **kw: Any) -> None:
        self._finish(kw["run_id"])

    def on_tool_error(self, error: BaseException, **kw: Any) -> None:
        self._finish(kw["run_id"])

    def finished(self) -> dict[str, ReadableSpan]:
        return {s.name: s for s in self.exporter.get_finished_spans()}

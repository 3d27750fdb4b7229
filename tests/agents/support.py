"""Test helpers for tools and agents: a minimal span
handler (real OpenTelemetry SDK, in-memory exporter) to check which span is current where."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelchain.callbacks import BaseCallbackHandler
from tests.helpers import SEED_STEP_1, SEED_STEP_2, seed_model

__all__ = ["SEED_STEP_1", "SEED_STEP_2", "SpanHandler", "seed_model"]


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

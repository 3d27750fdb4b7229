"""`ConsoleSpanProcessor`: the verbose lines, printed from otelchain spans as they start and end."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from otelchain.tracing._console.printer import Printer, Printing
from otelchain.tracing._console.render import (
    VERBOSE_LIMITS,
    crumb,
    error_renderable,
    group,
    span_error,
    span_llm_summary,
    span_run_name,
    span_run_type,
    span_value,
    verbose_renderables,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = ["ConsoleSpanProcessor"]

logger = logging.getLogger("otelchain.tracing")


class ConsoleSpanProcessor(Printing, SpanProcessor):
    """Prints ``[chain/start] [1:chain:llm_chain] Entering Chain run with input:`` lines as
    otelchain spans start and end, for any tracer provider it is added to.

    The breadcrumb (execution order, run type, run name) is rebuilt from the spans' parents,
    naming runs as the span tree does. ``color``: None follows the terminal conventions;
    ``width``: None fits the terminal.
    """

    def __init__(
        self, stream: IO[str] | None = None, *, color: bool | None = None, width: int | None = None
    ) -> None:
        self.printer = Printer(stream, color, width)
        self._live: dict[int, tuple[str, Iterator[int]]] = {}
        self._starts: list[ReadableSpan] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # otelchain sets a span's attributes right after starting it (only when it records), so
        # its start line is printed at the next span event, when they are there.
        self._flush_starts()
        scope = getattr(span, "instrumentation_scope", None)
        if span.context is not None and getattr(scope, "name", None) == "otelchain":
            self._starts.append(span)

    def _flush_starts(self) -> None:
        starts, self._starts = self._starts, []
        for span in starts:
            self._print_start(span)

    def _print_start(self, span: ReadableSpan) -> None:
        try:
            run_type = span_run_type(span)
            if run_type is None or span.context is None:
                return
            parent = self._live.get(span.parent.span_id) if span.parent is not None else None
            if parent is None:
                counter: Iterator[int] = itertools.count(2)
                crumbs = crumb(1, run_type, span_run_name(span))
            else:
                counter = parent[1]
                crumbs = f"{parent[0]} > {crumb(next(counter), run_type, span_run_name(span))}"
            self._live[span.context.span_id] = (crumbs, counter)
            body = span_value(span, VERBOSE_LIMITS, output=False)
            self.printer.print(*verbose_renderables("start", run_type, crumbs, None, body))
        except Exception:  # printing must never break a run
            return

    def on_end(self, span: ReadableSpan) -> None:
        self._flush_starts()
        try:
            entry = self._live.pop(span.context.span_id, None) if span.context is not None else None
            if entry is None:
                return
            run_type = span_run_type(span)
            took = (span.end_time or 0) - (span.start_time or 0)
            body: RenderableType | None
            if span.status.status_code is StatusCode.ERROR:
                kind, body = "error", error_renderable(span_error(span))
            else:
                kind, body = "end", span_value(span, VERBOSE_LIMITS, output=True)
                if run_type == "llm":
                    body = group(body, span_llm_summary(span, with_model=True))
            self.printer.print(*verbose_renderables(kind, run_type, entry[0], took, body))
        except Exception:
            return

    def shutdown(self) -> None:
        self._flush_starts()
        self._live.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._flush_starts()
        return True

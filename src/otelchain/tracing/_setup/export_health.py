"""The SDK side of tracing health: spans whose export failed and spans a full queue dropped."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otelchain.tracing._setup.delivery import Delivery
from otelchain.tracing._spans.health import count

__all__ = ["HealthExporter", "watch_queue_drops"]


class HealthExporter(SpanExporter):
    """Wraps a `SpanExporter` and counts the spans of every export, exported or failed (result
    or raise), in `health()` and on its own `Delivery`."""

    def __init__(self, exporter: SpanExporter, delivery: Delivery | None = None) -> None:
        self.exporter = exporter
        self.delivery = delivery if delivery is not None else Delivery("spans", type(exporter).__name__)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        n = len(spans)
        try:
            with self.delivery.export(n) as ok:  # the SDK exporter's retry messages are summed up
                result = self.exporter.export(spans)
                ok.append(result is SpanExportResult.SUCCESS)
        except Exception:
            count("spans_export_failed", n)
            raise
        count("spans_exported" if result is SpanExportResult.SUCCESS else "spans_export_failed", n)
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exporter, name)


class _QueueDrops(logging.Filter):
    """Counts the batch processor's "Queue full, dropping Span." records (one per dropped span);
    placed before the SDK's duplicate filter, so it sees every one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Queue full, dropping %s." and record.args == ("Span",):
            count("spans_dropped")
        return True


_drops_installed = False


def watch_queue_drops() -> None:
    """Start counting spans dropped by BatchSpanProcessor queues (idempotent)."""
    global _drops_installed
    if _drops_installed:
        return
    _drops_installed = True
    sdk_logger = logging.getLogger("opentelemetry.sdk._shared_internal")
    sdk_logger.filters.insert(0, _QueueDrops())

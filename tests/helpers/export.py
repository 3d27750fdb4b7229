"""An app's tracing set up as users set it up (`configure()` + `instrument()`), sending OTLP to a
collector and keeping a copy in memory: what the app sent, to compare with what a backend stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelchain.tracing import configure, instrument, uninstrument


@contextmanager
def traced_to(
    endpoint: str, protocol: str, service: str, **handler_options: Any
) -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """configure() with OTLP to `endpoint` and a memory copy (not global), instrument() every run with
    it (``handler_options`` go to the handler); on exit uninstrument, flush (which must succeed) and
    shut down."""
    memory = InMemorySpanExporter()
    provider = configure(
        service_name=service,
        exporter=["otlp", memory],
        endpoint=endpoint,
        protocol=protocol,
        timeout=5,
        set_global=False,
        schedule_delay_millis=50,
    )
    instrument(provider, **handler_options)
    try:
        yield provider, memory
    finally:
        uninstrument()
        assert provider.force_flush(10_000), "the OTLP export did not finish"
        provider.shutdown()

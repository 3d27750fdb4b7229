"""`configure()`: a TracerProvider from the standard OTEL_* environment variables."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

__all__ = ["configure"]

logger = logging.getLogger("otelchain.tracing")

_EXPORTERS = ("otlp", "console", "none")
_PROTOCOLS = ("grpc", "http/protobuf")


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _exporter_name(exporter: str | None, endpoint: str | None) -> str:
    name = exporter or _env("OTEL_TRACES_EXPORTER")
    if name is None:
        has_endpoint = endpoint or _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
        return "otlp" if has_endpoint else "console"
    name = name.split(",")[0].strip().lower()
    if name not in _EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER / exporter must be one of {list(_EXPORTERS)}, got {name!r}")
    return name


def _protocol(protocol: str | None, endpoint: str | None) -> str:
    """The OTLP protocol asked for; unset, gRPC when the endpoint is on the gRPC port 4317
    (so ``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317`` just works), else HTTP."""
    value = (
        protocol
        or _env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
        or _protocol_for_port(
            endpoint or _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
        )
    ).lower()
    if value not in _PROTOCOLS:
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL / protocol must be one of {list(_PROTOCOLS)}, got {value!r}"
        )
    return value


def _protocol_for_port(endpoint: str | None) -> str:
    try:
        port = urlsplit(endpoint).port if endpoint else None
    except ValueError:
        port = None
    return "grpc" if port == 4317 else "http/protobuf"


def _otlp_exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None, timeout: float | None
) -> SpanExporter:
    """The OTLP exporter; endpoint and headers fall back to the exporter's own env handling."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        insecure = None if endpoint is None else endpoint.startswith("http://")
        return GrpcExporter(
            endpoint=endpoint, insecure=insecure, headers=dict(headers) if headers else None, timeout=timeout
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"  # a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is
    return HttpExporter(endpoint=endpoint, headers=dict(headers) if headers else None, timeout=timeout)


_finished: weakref.WeakSet[TracerProvider] = weakref.WeakSet()


def _shutdown_within(provider: TracerProvider, seconds: float) -> None:
    """Flush and shut down the provider, giving up after ``seconds`` (a dead collector must not
    hold the process at exit). Runs once per provider."""
    if provider in _finished:
        return
    _finished.add(provider)

    def run() -> None:
        try:
            provider.force_flush(int(seconds * 1000))
            provider.shutdown()
        except Exception as error:
            logger.warning("otelchain tracing: shutdown failed: %s: %s", type(error).__name__, error)

    worker = threading.Thread(target=run, name="otelchain-trace-shutdown", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        logger.warning("otelchain tracing: spans not exported within %.1fs at exit were dropped", seconds)


def configure(
    *,
    service_name: str | None = None,
    exporter: str | SpanExporter | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    span_limits: SpanLimits | None = None,
    set_global: bool = True,
    flush_timeout: float = 5.0,
    **batch_options: Any,
) -> TracerProvider:
    """Build a TracerProvider from arguments or the standard env vars, and return it.

    ``exporter``: ``"otlp"``, ``"console"`` (`ConsoleSpanTreeExporter`), ``"none"`` or a
    `SpanExporter`; default ``OTEL_TRACES_EXPORTER``, else otlp when an endpoint is set and the
    console tree otherwise. ``endpoint`` / ``protocol`` (grpc or http/protobuf) / ``headers``
    default to ``OTEL_EXPORTER_OTLP_*`` (no protocol set: gRPC for port 4317, else HTTP);
    ``service_name`` to ``OTEL_SERVICE_NAME``. Spans go
    through a BatchSpanProcessor (``batch_options`` are its settings); exporter failures are
    logged by the SDK, never raised. At exit the provider flushes within ``flush_timeout``
    seconds. ``set_global`` makes it the global provider (if none was set before). Use it with
    ``instrument(provider)`` or ``OpenTelemetryCallbackHandler(provider)``.
    """
    resource = Resource.create({SERVICE_NAME: service_name} if service_name else None)
    provider = TracerProvider(resource=resource, span_limits=span_limits, shutdown_on_exit=False)
    if isinstance(exporter, SpanExporter):
        span_exporter: SpanExporter | None = exporter
        kind = type(exporter).__name__
    else:
        kind = _exporter_name(exporter, endpoint)
        span_exporter = None
        if kind == "otlp":
            span_exporter = _otlp_exporter(endpoint, _protocol(protocol, endpoint), headers, timeout)
        elif kind == "console":
            from otelchain.tracing._console import ConsoleSpanTreeExporter

            span_exporter = ConsoleSpanTreeExporter()
            batch_options.setdefault("schedule_delay_millis", 500)
    if span_exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter, **batch_options))
    # Never log header values: only whether there are any.
    logger.debug(
        "otelchain tracing: exporter=%s headers=%s",
        kind,
        "set" if headers or _env("OTEL_EXPORTER_OTLP_HEADERS") else "none",
    )
    atexit.register(_shutdown_within, provider, flush_timeout)
    if set_global:
        trace.set_tracer_provider(provider)
        if trace.get_tracer_provider() is not provider:
            logger.warning(
                "otelchain tracing: a global TracerProvider was already set; use the returned provider "
                "explicitly, e.g. instrument(provider)"
            )
    return provider

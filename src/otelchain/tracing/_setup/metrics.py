"""GenAI client metrics from the same callbacks as the spans, through the OTel metrics API.

`GenAIMetrics` holds the four instruments of the GenAI semantic conventions with the spec's
units and explicit bucket boundaries (given as advisory, so any SDK view can still override
them) and records them with low-cardinality attributes only: operation, provider, request and
response model, server address and port, error type, token type. No run ids, no content.
`configure_metrics()` builds the MeterProvider `configure()` sets up beside its TracerProvider.
Beside them, tracing's own health (`otelchain.tracing.health()`) is reported as observable
counters on each meter: spans by outcome, handler errors, values changed.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.util.types import AttributeValue

from otelchain.tracing._conventions import names as A

__all__ = [
    "DURATION_BUCKETS",
    "TOKEN_BUCKETS",
    "GenAIMetrics",
    "configure_metrics",
    "metric_attributes",
]

logger = logging.getLogger("otelchain.tracing")

# The spec's ExplicitBucketBoundaries (gen-ai-metrics.md).
DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS: tuple[float, ...] = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

# Span attributes that may become metric attributes (all low cardinality).
_METRIC_KEYS = (
    A.GEN_AI_OPERATION_NAME,
    A.GEN_AI_PROVIDER_NAME,
    A.GEN_AI_REQUEST_MODEL,
    A.SERVER_ADDRESS,
    A.SERVER_PORT,
)


def metric_attributes(span_attributes: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    """The metric attributes of an operation, picked from its span attributes."""
    return {key: span_attributes[key] for key in _METRIC_KEYS if key in span_attributes}


# Tracing's health as metrics: (instrument, unit, description, [(health field, attributes)]).
_HEALTH_INSTRUMENTS: tuple[tuple[str, str, str, tuple[tuple[str, dict[str, str]], ...]], ...] = (
    (
        "otelchain.tracing.spans",
        "{span}",
        "Spans by what became of them: exported, dropped by the queue, export failed, interrupted.",
        (
            ("spans_exported", {"otelchain.outcome": "exported"}),
            ("spans_dropped", {"otelchain.outcome": "dropped"}),
            ("spans_export_failed", {"otelchain.outcome": "export_failed"}),
            ("spans_interrupted", {"otelchain.outcome": "interrupted"}),
        ),
    ),
    (
        "otelchain.tracing.handler_errors",
        "{error}",
        "Callback handler failures survived.",
        (("handler_errors", {}),),
    ),
    (
        "otelchain.tracing.values",
        "{value}",
        "Attribute values changed before export: truncated to the limit, or invalid text repaired.",
        (
            ("values_truncated", {"otelchain.change": "truncated"}),
            ("values_sanitized", {"otelchain.change": "sanitized"}),
        ),
    ),
)
_health_meters: weakref.WeakSet[Any] = weakref.WeakSet()  # providers whose health counters exist
_health_lock = threading.Lock()


class _Global:
    """Stands for the global meter provider (whichever it becomes) among the providers."""


_GLOBAL = _Global()


def _register_health(meter_provider: MeterProvider | None, meter: Any) -> None:
    """Observable counters of `health()` on this meter, once per meter provider."""
    provider = _GLOBAL if meter_provider is None else meter_provider
    with _health_lock:
        if provider in _health_meters:
            return
        _health_meters.add(provider)
    from opentelemetry.metrics import CallbackOptions, Observation

    from otelchain.tracing._spans.health import health

    for name, unit, description, fields in _HEALTH_INSTRUMENTS:

        def observe(_options: CallbackOptions, fields: Any = fields) -> list[Observation]:
            counts = health().as_dict()
            return [Observation(counts[field], attributes) for field, attributes in fields]

        meter.create_observable_counter(name, callbacks=[observe], unit=unit, description=description)


class GenAIMetrics:
    """The GenAI client instruments of one meter (the global MeterProvider's by default)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        from otelchain import __version__

        if meter_provider is None:
            meter = metrics.get_meter("otelchain", __version__)  # a proxy: follows a provider set later
        else:
            meter = meter_provider.get_meter("otelchain", __version__)

        def histogram(name: str, unit: str, description: str, buckets: tuple[float, ...]) -> Histogram:
            return meter.create_histogram(
                name, unit=unit, description=description, explicit_bucket_boundaries_advisory=list(buckets)
            )

        self.duration = histogram(
            A.METRIC_OPERATION_DURATION, "s", "GenAI operation duration.", DURATION_BUCKETS
        )
        self.token_usage = histogram(
            A.METRIC_TOKEN_USAGE, "{token}", "Number of input and output tokens used.", TOKEN_BUCKETS
        )
        self.time_to_first_chunk = histogram(
            A.METRIC_TIME_TO_FIRST_CHUNK,
            "s",
            "Time to receive the first chunk of a streaming response, from the request.",
            DURATION_BUCKETS,
        )
        self.time_per_output_chunk = histogram(
            A.METRIC_TIME_PER_OUTPUT_CHUNK,
            "s",
            "Time between consecutive output chunks of a streaming response.",
            DURATION_BUCKETS,
        )
        _register_health(meter_provider, meter)

    def record_operation(
        self,
        attributes: dict[str, AttributeValue],
        seconds: float,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> None:
        """One finished operation: its duration and, for model calls, the tokens it used."""
        self.duration.record(seconds, attributes)
        if input_tokens is not None:
            self.token_usage.record(input_tokens, {**attributes, A.GEN_AI_TOKEN_TYPE: A.TOKEN_TYPE_INPUT})
        if output_tokens is not None:
            self.token_usage.record(output_tokens, {**attributes, A.GEN_AI_TOKEN_TYPE: A.TOKEN_TYPE_OUTPUT})


# --- configure() support -----------------------------------------------------------------------
_EXPORTERS = ("otlp", "console", "none")


def _otlp_exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None, timeout: float | None
) -> Any:
    from otelchain.tracing._setup.configure import otlp_kwargs

    kwargs = otlp_kwargs(endpoint, protocol == "grpc", "metrics", headers, timeout)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as Grpc

        return Grpc(**kwargs)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as Http

    return Http(**kwargs)


@functools.cache
def _once_meter_provider_class() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider

    class OnceMeterProvider(SdkMeterProvider):
        """The SDK's MeterProvider whose second shutdown is a quiet no-op: the app may shut it
        down itself before otelchain's exit flush does (the SDK would log a warning)."""

        _otelchain_shut_down = False

        def shutdown(self, timeout_millis: float = 30_000) -> None:
            if self._otelchain_shut_down:
                return
            self._otelchain_shut_down = True
            super().shutdown(timeout_millis=timeout_millis)

    return OnceMeterProvider


def run_within(seconds: float, what: str, work: Callable[[], object]) -> bool:
    """Run ``work`` (a provider's exit flush) in a daemon thread, waiting at most ``seconds`` (a
    dead collector must not hold the process at exit); whether it finished. Failures are logged."""

    def run() -> None:
        try:
            work()
        except Exception as error:
            logger.warning("otelchain %s: shutdown failed: %s: %s", what, type(error).__name__, error)

    worker = threading.Thread(target=run, name=f"otelchain-{what}-shutdown", daemon=True)
    worker.start()
    worker.join(seconds)
    return not worker.is_alive()


def _shutdown_within(provider: Any, seconds: float) -> None:
    """Flush and shut down, giving up after ``seconds``."""
    run_within(seconds, "metrics", lambda: provider.shutdown(timeout_millis=seconds * 1000))


def configure_metrics(
    *,
    resource: Any = None,
    exporter: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    set_global: bool = True,
    flush_timeout: float = 5.0,
) -> Any:
    """A MeterProvider for the GenAI metrics, or None when metrics are off.

    ``exporter`` defaults to ``OTEL_METRICS_EXPORTER``, else ``otlp`` when an OTLP endpoint is
    set and off otherwise; ``none`` turns metrics off; ``console`` prints them. Endpoint,
    protocol and headers are the trace exporter's (``OTEL_EXPORTER_OTLP_*``, with the
    ``_METRICS_`` variants). A periodic reader exports (``OTEL_METRIC_EXPORT_INTERVAL``); at exit
    the provider flushes within ``flush_timeout`` seconds. ``set_global`` makes it the global
    MeterProvider, which `instrument()` and the handler use by default; an SDK MeterProvider that
    is already global is returned as is (calling it again adds nothing).
    A bad setting (argument or variable) raises `ConfigurationError`, naming it.
    """
    from otelchain.tracing._setup.configure import _endpoint_problem, _protocol, _setting

    off = "metrics are not exported"
    url = _setting(endpoint, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    name = _setting(exporter, "OTEL_METRICS_EXPORTER")
    if name is None:
        kind = "otlp" if url else "none"
    elif (kind := name.value.split(",")[0].strip().lower()) not in _EXPORTERS:
        name.fail(f"must be one of {list(_EXPORTERS)}", off, strict=True)
    if kind == "none":
        return None
    if kind == "otlp":
        if url is not None and (problem := _endpoint_problem(url.value)) is not None:
            url.fail(problem, off, strict=True)
        chosen = _protocol(protocol, endpoint, "METRICS", strict=True)
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    if set_global:
        current = metrics.get_meter_provider()
        if isinstance(current, SdkMeterProvider):  # the app's, opentelemetry-instrument's, or ours
            return current

    if kind == "otlp":
        metric_exporter = _otlp_exporter(endpoint, chosen, headers, timeout)
    else:
        metric_exporter = ConsoleMetricExporter()
    reader = PeriodicExportingMetricReader(metric_exporter)
    options: dict[str, Any] = {"metric_readers": [reader], "shutdown_on_exit": False}
    if resource is not None:
        options["resource"] = resource
    provider = _once_meter_provider_class()(**options)
    atexit.register(_shutdown_within, provider, flush_timeout)
    if set_global:
        metrics.set_meter_provider(provider)
    return provider

"""`configure_metrics()`: the MeterProvider `configure()` sets up beside its TracerProvider (the
GenAI instruments themselves are in `otelchain.tracing._conventions.metrics`)."""

from __future__ import annotations

import atexit
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import metrics

__all__ = ["configure_metrics", "run_within"]

logger = logging.getLogger("otelchain.tracing")

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

"""`configure_metrics()`: the MeterProvider `configure()` sets up beside its TracerProvider (the
GenAI instruments themselves are in `otelchain.tracing._conventions.metrics`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import metrics

from otelchain.tracing._setup.settings import _endpoint_problem, _protocol, _setting, otlp_kwargs, otlp_target

__all__ = ["configure_metrics"]

logger = logging.getLogger("otelchain.tracing")

# --- configure() support -----------------------------------------------------------------------
_EXPORTERS = ("otlp", "console", "none")


def _otlp_exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None, timeout: float | None
) -> Any:

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


def _shut_down(provider: Any) -> Callable[[float], None]:
    def run(seconds: float) -> None:
        provider.shutdown(timeout_millis=seconds * 1000)

    return run


@functools.cache
def _counting_exporter_class() -> Any:
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

    from otelchain.tracing._setup.delivery import Delivery

    class CountingMetricExporter(MetricExporter):
        """Wraps a MetricExporter and counts the data points of every export on a `Delivery`;
        the SDK exporter's retry messages are summed up (`otelchain.tracing._setup.delivery`)."""

        def __init__(self, exporter: MetricExporter, delivery: Delivery) -> None:
            # what the SDK's own reader reads from an exporter (pinned by test_sdk_contract)
            super().__init__(
                preferred_temporality=exporter._preferred_temporality,
                preferred_aggregation=exporter._preferred_aggregation,
            )
            self.exporter = exporter
            self.delivery = delivery

        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            n = sum(
                len(metric.data.data_points)
                for resource in metrics_data.resource_metrics
                for scope in resource.scope_metrics
                for metric in scope.metrics
            )
            with self.delivery.export(n) as ok:
                result = self.exporter.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
                ok.append(result is MetricExportResult.SUCCESS)
            return result

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return self.exporter.force_flush(timeout_millis=timeout_millis)

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            self.exporter.shutdown(timeout_millis=timeout_millis, **kwargs)

    return CountingMetricExporter


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
    A bad setting (argument or variable) raises `ConfigurationError`, naming it; except a bad
    protocol variable, which is reported once and falls back to the default, as for traces.
    """

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
        # a bad protocol variable falls back as it does for traces (one message says both)
        chosen = _protocol(protocol, endpoint, "METRICS")
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    if set_global:
        current = metrics.get_meter_provider()
        if isinstance(current, SdkMeterProvider):  # the app's, opentelemetry-instrument's, or ours
            return current

    from otelchain.tracing._setup.delivery import Delivery, deliveries, quiet_retries, register_exit_flush

    if kind == "otlp":
        metric_exporter = _otlp_exporter(endpoint, chosen, headers, timeout)
        target = otlp_target(url, chosen == "grpc", "metrics")
    else:
        metric_exporter = ConsoleMetricExporter()
        target = "the console"
    quiet_retries(metric_exporter)
    delivery = Delivery("metric points", target)
    reader = PeriodicExportingMetricReader(_counting_exporter_class()(metric_exporter, delivery))
    options: dict[str, Any] = {"metric_readers": [reader], "shutdown_on_exit": False}
    if resource is not None:
        options["resource"] = resource
    provider = _once_meter_provider_class()(**options)
    deliveries(provider).append(delivery)
    register_exit_flush(provider, _shut_down(provider), flush_timeout)
    if set_global:
        metrics.set_meter_provider(provider)
    return provider

"""The SDK internals otelchain reads, pinned: if the SDK renames them, this fails (not the
event budget silently falling back to defaults)."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanLimits, TracerProvider

from otelchain.tracing import OpenTelemetryCallbackHandler
from otelchain.tracing._spans.state import sdk_span_limits


def test_span_limits_are_read_from_an_sdk_tracer() -> None:
    provider = TracerProvider(span_limits=SpanLimits(max_events=7, max_span_attributes=9))
    assert sdk_span_limits(provider.get_tracer("t")) == (7, 9)
    handler = OpenTelemetryCallbackHandler(provider)
    assert handler._limits() == (7, 9)


def test_span_limits_are_read_through_a_proxy_tracer_once_it_is_configured() -> None:
    proxy = trace.ProxyTracer("t", None)
    assert sdk_span_limits(proxy) is None  # not configured yet: the handler uses SDK defaults
    provider = TracerProvider(span_limits=SpanLimits(max_events=5, max_span_attributes=11))
    proxy._real_tracer = provider.get_tracer("t")  # what the API does once a provider is set
    assert sdk_span_limits(proxy) == (5, 11)


def test_an_unset_limit_is_no_limit() -> None:
    provider = TracerProvider(span_limits=SpanLimits(max_events=SpanLimits.UNSET))
    assert sdk_span_limits(provider.get_tracer("t")) == (None, SpanLimits().max_span_attributes)


def test_the_counting_metric_exporter_keeps_the_exporters_preferences() -> None:
    """configure_metrics wraps its exporter; the reader reads the wrapper's preferred temporality
    and aggregation, copied from the SDK exporter's private fields (as the SDK's reader reads them)."""
    from opentelemetry.sdk.metrics import Counter, Histogram
    from opentelemetry.sdk.metrics.export import AggregationTemporality, ConsoleMetricExporter
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation

    from otelchain.tracing._setup.delivery import Delivery
    from otelchain.tracing._setup.metrics import _counting_exporter_class

    aggregation = ExplicitBucketHistogramAggregation([1.0, 2.0])
    inner = ConsoleMetricExporter(
        preferred_temporality={Counter: AggregationTemporality.DELTA},
        preferred_aggregation={Histogram: aggregation},
    )
    wrapped = _counting_exporter_class()(inner, Delivery("metric points", "the console"))
    assert wrapped._preferred_temporality[Counter] is AggregationTemporality.DELTA
    assert wrapped._preferred_aggregation[Histogram] is aggregation


def test_the_exit_flush_reads_a_batch_processors_queue_length() -> None:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otelchain.tracing._setup.delivery import queue_length

    processor = BatchSpanProcessor(
        InMemorySpanExporter(), max_export_batch_size=10, schedule_delay_millis=60_000
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    for _ in range(3):
        provider.get_tracer("t").start_span("s").end()
    assert queue_length(processor) == 3
    provider.shutdown()
    assert queue_length(processor) == 0

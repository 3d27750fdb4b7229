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


def test_a_dropped_spans_child_is_started_as_the_sdk_would() -> None:
    """Under the SDK's default sampler the child of a dropped span is started without the SDK
    (no name, attributes or sampler call): the same non-recording span ``start_span`` returns."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

    from otelchain.tracing._spans.state import unsampled_child

    tracer = TracerProvider(sampler=ParentBased(ALWAYS_OFF)).get_tracer("t")
    child = unsampled_child(tracer)
    assert child is not None
    parent = tracer.start_span("root")
    made = child(parent)
    sdk = tracer.start_span("child", context=trace.set_span_in_context(parent))
    for span in (made, sdk):
        assert not span.is_recording()
        sc = span.get_span_context()
        assert sc.trace_id == parent.get_span_context().trace_id
        assert sc.span_id != parent.get_span_context().span_id
        assert not sc.trace_flags.sampled and not sc.is_remote
    assert type(made) is type(sdk)
    # A sampler that may keep such a child is asked, as is a tracer that is not the SDK's (yet).
    keeps = ParentBased(ALWAYS_OFF, local_parent_not_sampled=ALWAYS_ON)
    assert unsampled_child(TracerProvider(sampler=keeps).get_tracer("t")) is None
    assert unsampled_child(trace.ProxyTracer("t", None)) is None


def test_the_global_meter_provider_is_read_from_the_apis_global() -> None:
    from opentelemetry.metrics import _internal

    assert hasattr(_internal, "_METER_PROVIDER")

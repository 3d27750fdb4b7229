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

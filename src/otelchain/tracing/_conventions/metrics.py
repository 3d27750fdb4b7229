"""GenAI client instruments, recorded from the same runs as the spans, through the OTel metrics API.

`GenAIMetrics` holds the four instruments of the GenAI semantic conventions with the spec's
units and explicit bucket boundaries (given as advisory, so any SDK view can still override
them) and records them with low-cardinality attributes only: operation, provider, request and
response model, server address and port, error type, token type. No run ids, no content.
Beside them, tracing's own health (`otelchain.tracing.health()`) is reported as observable
counters on each meter: spans by outcome, handler errors, values changed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.environment_variables import OTEL_PYTHON_METER_PROVIDER as _METER_PROVIDER_ENV
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.util.types import AttributeValue

from otelchain._version import __version__
from otelchain.callbacks._runs import Run, now_ns
from otelchain.tracing import _names as A
from otelchain.tracing._conventions.genai import cost_of, provider_of, server_attributes
from otelchain.tracing._conventions.view import RunView
from otelchain.tracing._spans.control_flow import control_flow
from otelchain.tracing._spans.health import health
from otelchain.tracing._spans.mapper import Recorder
from otelchain.tracing._spans.state import SpanState
from otelchain.tracing._spans.values import error_type

__all__ = [
    "COST_BUCKETS",
    "DURATION_BUCKETS",
    "TOKEN_BUCKETS",
    "GenAIMetrics",
    "MetricsRecorder",
    "metric_attributes",
]

logger = logging.getLogger("otelchain.tracing")

# The spec's ExplicitBucketBoundaries (gen-ai-metrics.md).
DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
# Cost per call: from a thousandth of a cent to ten dollars.
COST_BUCKETS: tuple[float, ...] = (
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
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
        "otelchain.tracing.runs_abandoned",
        "{run}",
        "Runs whose end never came, ended when the task or thread that started them was gone.",
        (("runs_abandoned", {}),),
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

    for name, unit, description, fields in _HEALTH_INSTRUMENTS:

        def observe(_options: CallbackOptions, fields: Any = fields) -> list[Observation]:
            counts = health().as_dict()
            return [Observation(counts[field], attributes) for field, attributes in fields]

        meter.create_observable_counter(name, callbacks=[observe], unit=unit, description=description)


def _load_env_provider() -> None:
    """Load the global MeterProvider ``OTEL_PYTHON_METER_PROVIDER`` names, if none is set yet,
    as ``metrics.get_meter_provider()`` does on first use (runs then read the API's global
    directly, without that call's environment lookup; ``tests/tracing/test_sdk_contract.py``
    pins the name)."""
    if _metrics_api._METER_PROVIDER is None and _METER_PROVIDER_ENV in os.environ:
        metrics.get_meter_provider()


class GenAIMetrics:
    """The GenAI client instruments of one meter (the global MeterProvider's by default)."""

    def __init__(self, meter_provider: MeterProvider | None = None, *, latest: bool = False) -> None:
        """``latest``: the newest experimental names (``OTEL_SEMCONV_STABILITY_OPT_IN``
        ``gen_ai_latest_experimental``): model calls' duration, chunk times and token counts as
        ``gen_ai.client.inference.*`` instruments, one token histogram per direction."""
        self.follows_global = meter_provider is None
        if self.follows_global:
            _load_env_provider()
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
        self.latest = latest
        self.inference_duration = self.duration
        self.input_tokens = self.output_tokens = self.token_usage
        if latest:
            self.inference_duration = histogram(
                A.METRIC_INFERENCE_DURATION, "s", "GenAI inference operation duration.", DURATION_BUCKETS
            )
            self.input_tokens = histogram(
                A.METRIC_INFERENCE_INPUT_TOKENS,
                "{token}",
                "The number of input (prompt) tokens used per inference operation.",
                TOKEN_BUCKETS,
            )
            self.output_tokens = histogram(
                A.METRIC_INFERENCE_OUTPUT_TOKENS,
                "{token}",
                "The number of output (completion) tokens used per inference operation.",
                TOKEN_BUCKETS,
            )
        self.time_to_first_chunk = histogram(
            A.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK if latest else A.METRIC_TIME_TO_FIRST_CHUNK,
            "s",
            "Time to receive the first chunk of a streaming response, from the request.",
            DURATION_BUCKETS,
        )
        self.time_per_output_chunk = histogram(
            A.METRIC_INFERENCE_TIME_PER_OUTPUT_CHUNK if latest else A.METRIC_TIME_PER_OUTPUT_CHUNK,
            "s",
            "Time between consecutive output chunks of a streaming response.",
            DURATION_BUCKETS,
        )
        self.cost = histogram(
            A.METRIC_OPERATION_COST,
            "{USD}",
            "Cost of a model call, from its token counts (or as the provider reported it).",
            COST_BUCKETS,
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
        if not self.latest:
            self.duration.record(seconds, attributes)
            if input_tokens is not None:
                self.token_usage.record(input_tokens, {**attributes, A.GEN_AI_TOKEN_TYPE: A.TOKEN_TYPE_INPUT})
            if output_tokens is not None:
                self.token_usage.record(
                    output_tokens, {**attributes, A.GEN_AI_TOKEN_TYPE: A.TOKEN_TYPE_OUTPUT}
                )
            return
        inference = attributes.get(A.GEN_AI_OPERATION_NAME) in (A.OP_CHAT, A.OP_TEXT_COMPLETION)
        (self.inference_duration if inference else self.duration).record(seconds, attributes)
        if input_tokens is not None:
            self.input_tokens.record(input_tokens, attributes)
        if output_tokens is not None:
            self.output_tokens.record(output_tokens, attributes)


class MetricsRecorder(Recorder):
    """Records the GenAI client metrics of every run, sampled or not: operation duration and
    token usage at the end, time to first chunk and per chunk while streaming."""

    def __init__(self, instruments: GenAIMetrics) -> None:
        self.instruments = instruments

    def _idle(self) -> bool:
        """Whether nothing listens: the global meter provider is followed and none is set yet
        (a run then costs no metric work; one set later is followed from its next run)."""
        return self.instruments.follows_global and _metrics_api._METER_PROVIDER is None

    def start(self, run: Run, state: SpanState) -> None:
        if self._idle():
            return
        view: RunView = state.view
        run_type = run.run_type
        if run_type == "llm":
            attrs: dict[str, AttributeValue] = {
                A.GEN_AI_OPERATION_NAME: view.operation,
                A.GEN_AI_REQUEST_MODEL: view.model,
            }
            provider = provider_of(view)
            if provider:
                attrs[A.GEN_AI_PROVIDER_NAME] = provider
                _agent_metric_provider(run, provider)
            if view.params:
                server_attributes(view.params, attrs)
            state.metric_attrs = attrs
        elif run_type == "tool":
            state.metric_attrs = {A.GEN_AI_OPERATION_NAME: A.OP_EXECUTE_TOOL}
        elif view.agent[0]:
            state.metric_attrs = {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT}

    def token(self, run: Run, state: SpanState, first: bool) -> None:
        attrs = state.metric_attrs
        if attrs is None:
            return
        if first:
            self.instruments.time_to_first_chunk.record((state.first_token_ns - run.start_ns) / 1e9, attrs)
        else:
            now = time.perf_counter_ns()
            self.instruments.time_per_output_chunk.record((now - state.last_token_ns) / 1e9, attrs)
            state.last_token_ns = now

    def end(self, run: Run, state: SpanState) -> None:
        attrs = state.metric_attrs
        if attrs is None:
            return
        input_tokens = output_tokens = None
        if run.run_type == "llm" and run.error is None:
            response = state.view.response
            if response.model:
                attrs[A.GEN_AI_RESPONSE_MODEL] = response.model
            input_tokens, output_tokens = response.counts.prompt, response.counts.completion
            cost = cost_of(state.view)
            if cost is not None:
                self.instruments.cost.record(
                    cost.amount,
                    {
                        **attrs,
                        A.GEN_AI_USAGE_COST_CURRENCY: cost.currency,
                        A.GEN_AI_USAGE_COST_SOURCE: cost.source,
                    },
                )
        if run.error is not None and control_flow(run.error) is None:  # an interrupt is no error
            attrs = {**attrs, A.ERROR_TYPE: error_type(run.error)}
        end = run.end_ns if run.end_ns is not None else now_ns()
        self.instruments.record_operation(
            attrs, (end - run.start_ns) / 1e9, input_tokens=input_tokens, output_tokens=output_tokens
        )


def _agent_metric_provider(run: Run, provider: str) -> None:
    """An agent's metrics carry the provider of its first model run."""
    parent = run.parent
    while parent is not None and parent.run_type != "tool":
        agent: SpanState | None = parent.data
        if (
            agent is not None
            and agent.metric_attrs is not None
            and agent.metric_attrs.get(A.GEN_AI_OPERATION_NAME) == A.OP_INVOKE_AGENT
        ):
            agent.metric_attrs.setdefault(A.GEN_AI_PROVIDER_NAME, provider)
            return
        parent = parent.parent

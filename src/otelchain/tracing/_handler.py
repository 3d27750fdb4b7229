"""`OpenTelemetryCallbackHandler`: the span lifecycle with the vocabularies the user chose.

The lifecycle (`otelchain.tracing._spans.lifecycle`) turns runs into spans; this module picks
its mappers from ``conventions`` (or ``OTELCHAIN_CONVENTIONS``) and its content mode from
``capture_content`` (or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from otelchain._version import __version__
from otelchain.tracing._conventions.genai import GenAIMapper, latest_experimental
from otelchain.tracing._conventions.metrics import GenAIMetrics, MetricsRecorder
from otelchain.tracing._conventions.openinference import OpenInferenceMapper
from otelchain.tracing._conventions.openinference_values import Masking
from otelchain.tracing._conventions.otelchain import OtelchainMapper
from otelchain.tracing._conventions.view import RunView, Settings
from otelchain.tracing._spans.lifecycle import (
    DEFAULT_MAX_ATTRIBUTE_LENGTH,
    DEFAULT_MAX_SPAN_LENGTH,
    SpanLifecycle,
)
from otelchain.tracing._spans.mapper import Content, Mapper, content_from_env

__all__ = [
    "CONVENTIONS",
    "DEFAULT_CONVENTIONS",
    "DEFAULT_MAX_ATTRIBUTE_LENGTH",
    "DEFAULT_MAX_SPAN_LENGTH",
    "OpenTelemetryCallbackHandler",
    "capture_content_from_env",
]

_CONVENTIONS_ENV = "OTELCHAIN_CONVENTIONS"
CONVENTIONS = frozenset({"gen_ai", "openinference", "otelchain"})
DEFAULT_CONVENTIONS = frozenset({"gen_ai"})


def capture_content_from_env(default: bool = True) -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for any content."""
    return content_from_env(default).any


def conventions_from(value: str | Iterable[str] | None) -> frozenset[str]:
    """The naming schemes to emit: ``conventions=`` or ``OTELCHAIN_CONVENTIONS`` (comma list);
    default GenAI only (each fact once), ``all`` for every scheme."""
    if value is None:
        value = os.environ.get(_CONVENTIONS_ENV, "").strip() or None
    if value is None:
        return DEFAULT_CONVENTIONS
    names = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value)]
    chosen = frozenset(n for n in names if n)
    if chosen == {"all"}:
        return CONVENTIONS
    unknown = chosen - CONVENTIONS
    if unknown or not chosen:
        raise ValueError(
            f"conventions must be 'all' or a non-empty subset of {sorted(CONVENTIONS)}, got {sorted(chosen)}"
        )
    return chosen


class OpenTelemetryCallbackHandler(SpanLifecycle):
    """Maps each run to an OpenTelemetry span; tokens become span events.

    ``tracer_provider`` defaults to the global one (also one set later). ``capture_content``:
    True/False, or a mode (``NO_CONTENT``, ``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``);
    default from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, else on.
    ``max_attribute_length`` bounds every text value (None: no limit). ``conventions`` picks
    the naming schemes: ``gen_ai`` (the default: the OTel GenAI conventions, plus a span kind and
    input/output for runs they have no attribute for), ``openinference`` (the full
    OpenInference set), ``otelchain`` (run type, parent run, tags, token counts, text and retry
    events), any combination, or ``all``; or ``OTELCHAIN_CONVENTIONS``. ``meter_provider``
    receives the GenAI client metrics (default the global one);
    ``separate_trace_from_runtime_context`` starts every root run in a trace of its own instead
    of under the ambient span; ``cost`` prices each model call from its token counts (default on
    unless ``configure(cost=False)`` or ``OTELCHAIN_COST=false``). Failures inside the handler are
    logged and counted
    (:attr:`error_counts`), never raised into the app.
    """

    name = "opentelemetry_callback_handler"

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        capture_content: bool | str | None = None,
        max_attribute_length: int | None = DEFAULT_MAX_ATTRIBUTE_LENGTH,
        *,
        tracer_name: str = "otelchain",
        meter_provider: MeterProvider | None = None,
        conventions: str | Iterable[str] | None = None,
        max_span_length: int | None = DEFAULT_MAX_SPAN_LENGTH,
        separate_trace_from_runtime_context: bool = False,
        cost: bool | None = None,
    ) -> None:
        if tracer_provider is None:
            tracer = trace.get_tracer(tracer_name, __version__)
        else:
            tracer = tracer_provider.get_tracer(tracer_name, __version__)
        content = Content.of(capture_content)
        self.conventions = conventions_from(conventions)
        settings = Settings(max_attribute_length, content.span, Masking.from_env(), cost)
        self._latest = latest_experimental()  # OTEL_SEMCONV_STABILITY_OPT_IN
        self.settings = settings
        super().__init__(
            tracer,
            (),
            content=content,
            view=lambda run, claim: RunView(run, claim, settings),
            recorders=(MetricsRecorder(GenAIMetrics(meter_provider, latest=self._latest)),),
            tracer_provider=tracer_provider,
            max_attribute_length=max_attribute_length,
            max_span_length=max_span_length,
            separate_trace_from_runtime_context=separate_trace_from_runtime_context,
        )
        self.use(self._mappers(settings, content))

    def _mappers(self, settings: Settings, content: Content) -> tuple[Mapper, ...]:
        chosen = self.conventions
        mappers: list[Mapper] = []
        if "gen_ai" in chosen:
            mappers.append(
                GenAIMapper(
                    settings,
                    lean="openinference" not in chosen,
                    events=self.add_event if content.event else None,
                    latest=self._latest,
                )
            )
        if "openinference" in chosen:
            mappers.append(OpenInferenceMapper(settings))
        # Always there: agent actions are span attributes, custom events are span events.
        mappers.append(
            OtelchainMapper(
                settings, self, own="gen_ai" in chosen, full="otelchain" in chosen, content=content.any
            )
        )
        return tuple(mappers)

    @property
    def capture_mode(self) -> Content:
        """Where content goes: span attributes and/or the GenAI details event."""
        return self.content

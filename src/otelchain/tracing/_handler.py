"""`OpenTelemetryCallbackHandler`: the span lifecycle with the vocabularies the user chose.

The lifecycle (`otelchain.tracing._spans.lifecycle`) turns runs into spans; this module picks
its mappers from ``conventions`` (or ``OTELCHAIN_CONVENTIONS``) and its content mode from
``capture_content`` (or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from otelchain._options import check_bool, report_env
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

logger = logging.getLogger("otelchain.tracing")

_CONVENTIONS_ENV = "OTELCHAIN_CONVENTIONS"
CONVENTIONS = frozenset({"gen_ai", "openinference", "otelchain"})
DEFAULT_CONVENTIONS = frozenset({"gen_ai"})


def capture_content_from_env(default: bool = True) -> bool:
    """Whether ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for any content."""
    return content_from_env(default).any


_VALID_CONVENTIONS = f"'all' or a non-empty comma list of {', '.join(sorted(CONVENTIONS))}"


def _chosen(names: list[str]) -> frozenset[str] | None:
    """The schemes ``names`` pick, or None when they pick none or name an unknown one."""
    chosen = frozenset(names)
    if chosen == {"all"}:
        return CONVENTIONS
    return chosen if chosen and chosen <= CONVENTIONS else None


def _names(text: str) -> list[str]:
    return [n.strip().lower() for n in text.split(",") if n.strip()]


def conventions_from(value: str | Iterable[str] | None) -> frozenset[str]:
    """The naming schemes to emit: ``conventions=`` or ``OTELCHAIN_CONVENTIONS`` (comma list);
    default GenAI only (each fact once), ``all`` for every scheme. A bad argument raises, naming
    it; a bad variable is reported once and the default used (it must not stop the app)."""
    if value is None:
        raw = os.environ.get(_CONVENTIONS_ENV, "").strip()
        if not raw:
            return DEFAULT_CONVENTIONS
        chosen = _chosen(_names(raw))
        if chosen is None:
            report_env(_CONVENTIONS_ENV, raw, _VALID_CONVENTIONS, "the default (gen_ai)", logger)
            return DEFAULT_CONVENTIONS
        return chosen
    items: list[object] = (
        [value] if isinstance(value, str) else list(value) if isinstance(value, Iterable) else [value]
    )
    wrong = [type(item).__name__ for item in items if not isinstance(item, str)]
    if wrong:
        raise TypeError(
            f"conventions must be {_VALID_CONVENTIONS} (a string or a list of names), got {wrong[0]}"
        )
    names = _names(",".join(str(item) for item in items))
    chosen = _chosen(names)
    if chosen is None:
        unknown = [n for n in names if n not in CONVENTIONS] or names
        raise ValueError(f"conventions must be {_VALID_CONVENTIONS}, got {unknown}")
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
        # Every option checked before anything is built: one clear error naming the bad one.
        if tracer_provider is not None and not callable(getattr(tracer_provider, "get_tracer", None)):
            raise TypeError(
                "tracer_provider must be an OpenTelemetry TracerProvider (or None for the global "
                f"one), got {type(tracer_provider).__name__}"
            )
        check_bool("cost", cost, none=True)
        content = Content.of(capture_content)
        self.conventions = conventions_from(conventions)
        if tracer_provider is None:
            tracer = trace.get_tracer(tracer_name, __version__)
        else:
            tracer = tracer_provider.get_tracer(tracer_name, __version__)
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

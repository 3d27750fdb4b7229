"""`instrument()` / `uninstrument()`: every run in the app becomes a span, with no code change."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Tracer, TracerProvider

from otelchain._options import env_flag
from otelchain.callbacks._manager import add_global_handler, remove_global_handler
from otelchain.tracing._handler import OpenTelemetryCallbackHandler
from otelchain.tracing._spans.context import reorder

__all__ = ["add_framework", "instrument", "instrument_from_env", "instrumented_handler", "uninstrument"]

logger = logging.getLogger("otelchain.tracing")

_lock = threading.Lock()
_handler: OpenTelemetryCallbackHandler | None = None
# Frameworks whose run trees the shared handler joins (langchain-core): (enable, disable) pairs
# added by the package that wires the layers, so tracing depends on none of them.
_frameworks: list[tuple[Callable[[Callable[[], Any]], None], Callable[[], None]]] = []


def add_framework(enable: Callable[[Callable[[], Any]], None], disable: Callable[[], None]) -> None:
    """Let `instrument()` reach a framework above this layer: ``enable(instrumented_handler)``
    when the shared handler is installed (now too, if it is), ``disable()`` when it is removed."""
    with _lock:
        if any(known is enable for known, _ in _frameworks):
            return
        _frameworks.append((enable, disable))
        if _handler is not None:
            enable(instrumented_handler)


def instrument(
    tracer_provider: TracerProvider | None = None, **handler_options: Any
) -> OpenTelemetryCallbackHandler:
    """Trace every run in the app: one shared `OpenTelemetryCallbackHandler` is added to every
    run, otelchain's own and langchain-core's and LangGraph's when they are (or get) imported,
    with no ``callbacks=`` in the app's code. `uninstrument()` stops it.

    ``tracer_provider`` defaults to the global provider (also one set later). The other options
    go to the handler: ``capture_content`` (True/False or ``NO_CONTENT``, ``SPAN_ONLY``,
    ``EVENT_ONLY``, ``SPAN_AND_EVENT``; default ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``),
    ``conventions`` (``gen_ai``, ``openinference``, ``otelchain``, a list of them or ``all``;
    default ``OTELCHAIN_CONVENTIONS``, else ``gen_ai``), ``max_attribute_length`` and
    ``max_span_length`` (characters of one text value and of all of a span's text; None: no
    limit), ``meter_provider`` (for the GenAI metrics; default the global one), ``cost`` (price
    model calls; default ``OTELCHAIN_COST``, on), ``separate_trace_from_runtime_context`` (each
    root run starts a trace of its own), ``tracer_name``; see `OpenTelemetryCallbackHandler`. A
    bad option raises a `TypeError` or `ValueError` naming it. Calling it again replaces the
    shared handler, so there is always exactly one. Returns the handler.
    """
    global _handler
    handler = OpenTelemetryCallbackHandler(tracer_provider, **handler_options)
    handler.shared = True
    reorder()
    with _lock:
        if _handler is not None:
            remove_global_handler(_handler)
        _handler = handler
        add_global_handler(handler)
        for enable, _ in _frameworks:
            enable(instrumented_handler)
    return handler


def uninstrument() -> None:
    """Stop tracing runs that start from now on (live runs still end their spans)."""
    global _handler
    with _lock:
        if _handler is not None:
            remove_global_handler(_handler)
            _handler = None
        for _, disable in _frameworks:
            disable()


def instrumented_handler() -> OpenTelemetryCallbackHandler | None:
    """The shared handler `instrument()` installed, if any."""
    return _handler


class _EnvTracerProvider(TracerProvider):
    """For ``OTELCHAIN_TRACING=true``: the app's global provider if it sets one (before or after
    importing otelchain); if none is set when the first span starts, one from `configure()`."""

    otelchain_uses_global = True  # spans go where the global provider's go

    def get_tracer(self, *args: Any, **kwargs: Any) -> _EnvTracer:
        return _EnvTracer(args, kwargs)


class _EnvTracer(Tracer):
    """Resolves the real tracer at the first span, then delegates to it."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._args, self._kwargs = args, kwargs
        self._real: Tracer | None = None
        self._lock = threading.Lock()

    @property
    def _tracer(self) -> Tracer:  # the handler reads span limits through this, as on a ProxyTracer
        real = self._real
        if real is None:
            with self._lock:
                if self._real is None:
                    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

                    provider = trace.get_tracer_provider()
                    if not isinstance(provider, SdkTracerProvider):
                        provider = _configured_or_noop()
                    self._real = provider.get_tracer(*self._args, **self._kwargs)
                real = self._real
        return real

    def start_span(self, *args: Any, **kwargs: Any) -> Span:
        return self._tracer.start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._tracer.start_as_current_span(*args, **kwargs)


def _configured_or_noop() -> TracerProvider:
    """`configure()`'s provider; if even that fails, one warning and no tracing (never an error
    per run)."""
    try:
        from otelchain.tracing._setup.configure import configure

        return configure()
    except Exception as error:
        logger.error(
            "OTELCHAIN_TRACING: could not configure tracing (%s: %s); runs are not traced",
            type(error).__name__,
            error,
        )
        return trace.NoOpTracerProvider()


def _disabled_by_otel() -> bool:
    """``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` names otelchain (or ``*``): the ecosystem's off
    switch applies to the env hook as to the instrumentor."""
    names = {n.strip() for n in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    return bool(names & {"otelchain", "*"})


def instrument_from_env() -> bool:
    """``OTELCHAIN_TRACING=true`` instruments every run; never raises.

    Spans go to the app's global tracer provider, also one it sets after importing otelchain;
    if none is set when the first run starts, `configure()` builds one from the standard env
    vars (OTLP when an endpoint is set, else the console span tree), so the variable alone is
    enough to see spans. A value that is not a boolean is reported once and leaves tracing off;
    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=otelchain`` wins over the variable.
    """
    if not env_flag("OTELCHAIN_TRACING", False, logger):
        return False
    if _disabled_by_otel():
        logger.info("OTELCHAIN_TRACING: otelchain is in OTEL_PYTHON_DISABLED_INSTRUMENTATIONS; not tracing")
        return False
    try:
        if _handler is None:
            instrument(_EnvTracerProvider())
        return True
    except Exception as error:  # tracing must never break the app's import
        logger.warning("OTELCHAIN_TRACING: could not instrument: %s: %s", type(error).__name__, error)
        return False

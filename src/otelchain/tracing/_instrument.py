"""`instrument()` / `uninstrument()`: every run in the app becomes a span, with no code change."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from opentelemetry.trace import TracerProvider

from otelchain.callbacks._manager import add_global_handler, remove_global_handler
from otelchain.tracing._handler import OpenTelemetryCallbackHandler

__all__ = ["instrument", "instrument_from_env", "instrumented_handler", "uninstrument"]

logger = logging.getLogger("otelchain.tracing")

_TRUE = frozenset({"1", "true", "yes", "on"})
_lock = threading.Lock()
_handler: OpenTelemetryCallbackHandler | None = None


def instrument(
    tracer_provider: TracerProvider | None = None, **handler_options: Any
) -> OpenTelemetryCallbackHandler:
    """Add one shared `OpenTelemetryCallbackHandler` as an inheritable handler of every run.

    ``tracer_provider`` defaults to the global provider (also one set later). Calling it again
    replaces the shared handler, so there is always exactly one. ``handler_options`` go to
    the handler (``capture_content``, ``max_attribute_length``). Returns the handler.
    """
    global _handler
    handler = OpenTelemetryCallbackHandler(tracer_provider, **handler_options)
    with _lock:
        if _handler is not None:
            remove_global_handler(_handler)
        _handler = handler
        add_global_handler(handler)
    return handler


def uninstrument() -> None:
    """Stop tracing runs that start from now on (live runs still end their spans)."""
    global _handler
    with _lock:
        if _handler is not None:
            remove_global_handler(_handler)
            _handler = None


def instrumented_handler() -> OpenTelemetryCallbackHandler | None:
    """The shared handler `instrument()` installed, if any."""
    return _handler


def instrument_from_env() -> bool:
    """``OTELCHAIN_TRACING=true`` instruments (with the global tracer provider); never raises."""
    if os.environ.get("OTELCHAIN_TRACING", "").strip().lower() not in _TRUE:
        return False
    try:
        if _handler is None:
            instrument()
        return True
    except Exception as error:  # tracing must never break the app's import
        logger.warning("OTELCHAIN_TRACING: could not instrument: %s: %s", type(error).__name__, error)
        return False

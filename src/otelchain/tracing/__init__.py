"""The OpenTelemetry bridge: every run a span nested by parent run.

``OpenTelemetryCallbackHandler`` is a callback handler like any other (constructor or request
callbacks, otelchain or langchain-core); ``instrument()`` makes every run in the app a span;
``configure()`` builds a TracerProvider from the standard env vars; ``ConsoleSpanTreeExporter``
prints finished traces as trees. SDK-dependent names load on first use, to keep import cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otelchain.tracing._handler import OpenTelemetryCallbackHandler, capture_content_from_env
from otelchain.tracing._instrument import instrument, instrumented_handler, uninstrument

if TYPE_CHECKING:
    from otelchain.tracing._configure import configure
    from otelchain.tracing._console import ConsoleSpanProcessor, ConsoleSpanTreeExporter

__all__ = [
    "ConsoleSpanProcessor",
    "ConsoleSpanTreeExporter",
    "OpenTelemetryCallbackHandler",
    "capture_content_from_env",
    "configure",
    "instrument",
    "instrumented_handler",
    "uninstrument",
]

_LAZY = {
    "configure": "otelchain.tracing._configure",
    "ConsoleSpanProcessor": "otelchain.tracing._console",
    "ConsoleSpanTreeExporter": "otelchain.tracing._console",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otelchain.tracing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

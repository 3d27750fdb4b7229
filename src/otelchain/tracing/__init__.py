"""The OpenTelemetry bridge: every run a span nested by parent run.

``OpenTelemetryCallbackHandler`` is a callback handler like any other (constructor or request
callbacks, otelchain or langchain-core); ``instrument()`` makes every run in the app a span;
``configure()`` builds a TracerProvider from the standard env vars (or reuses the global one);
``OtelchainInstrumentor`` is the same switch for ``opentelemetry-instrument``;
``enable_http_propagation()`` carries the trace context to HTTP services; ``ConsoleSpanTreeExporter``
prints finished traces as trees; ``health()`` says what tracing lost or changed (dropped, failed,
truncated, sanitized). SDK-dependent names load on first use, to keep import cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otelchain.tracing._console.verbose import ConsoleCallbackHandler
from otelchain.tracing._handler import OpenTelemetryCallbackHandler, capture_content_from_env
from otelchain.tracing._setup.instrument import instrument, instrumented_handler, uninstrument
from otelchain.tracing._spans.health import TracingHealth, health, reset_health

if TYPE_CHECKING:
    from otelchain.tracing._console.processor import ConsoleSpanProcessor
    from otelchain.tracing._console.tree import ConsoleSpanTreeExporter
    from otelchain.tracing._setup.configure import ConfigurationError, configure
    from otelchain.tracing._setup.instrumentor import OtelchainInstrumentor
    from otelchain.tracing._setup.propagation import (
        disable_http_propagation,
        enable_http_propagation,
        http_propagation_enabled,
    )

__all__ = [
    "ConfigurationError",
    "ConsoleCallbackHandler",
    "ConsoleSpanProcessor",
    "ConsoleSpanTreeExporter",
    "OpenTelemetryCallbackHandler",
    "OtelchainInstrumentor",
    "TracingHealth",
    "capture_content_from_env",
    "configure",
    "disable_http_propagation",
    "enable_http_propagation",
    "health",
    "http_propagation_enabled",
    "instrument",
    "instrumented_handler",
    "reset_health",
    "uninstrument",
]

_LAZY = {
    "ConfigurationError": "otelchain.tracing._setup.configure",
    "configure": "otelchain.tracing._setup.configure",
    "OtelchainInstrumentor": "otelchain.tracing._setup.instrumentor",
    "disable_http_propagation": "otelchain.tracing._setup.propagation",
    "enable_http_propagation": "otelchain.tracing._setup.propagation",
    "http_propagation_enabled": "otelchain.tracing._setup.propagation",
    "ConsoleSpanProcessor": "otelchain.tracing._console.processor",
    "ConsoleSpanTreeExporter": "otelchain.tracing._console.tree",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'otelchain.tracing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

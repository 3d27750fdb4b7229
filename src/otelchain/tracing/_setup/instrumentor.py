"""`OtelchainInstrumentor`: otelchain as an OpenTelemetry instrumentation (``BaseInstrumentor``).

Registered as the ``otelchain`` ``opentelemetry_instrumentor`` entry point, so
``opentelemetry-instrument python app.py`` finds it and ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=otelchain``
turns it off. It wraps `instrument()` / `uninstrument()`: one shared tracing handler on every
run (otelchain's and, through `instrument()`, langchain-core's), into the provider given or the
global one that ``opentelemetry-instrument`` set up.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otelchain.tracing._handler import OpenTelemetryCallbackHandler
from otelchain.tracing._setup.instrument import _TRUE, instrument, uninstrument
from otelchain.tracing._setup.propagation import disable_http_propagation, enable_http_propagation

__all__ = ["OtelchainInstrumentor"]

_HANDLER_OPTIONS = frozenset(inspect.signature(OpenTelemetryCallbackHandler).parameters) - {"tracer_provider"}


class OtelchainInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Every otelchain run a span, the way every OpenTelemetry instrumentation is switched on.

    ``OtelchainInstrumentor().instrument(tracer_provider=None, propagate_http=None, **handler_options)``:
    ``tracer_provider`` defaults to the global provider (also one set later); ``propagate_http``
    (default ``OTELCHAIN_PROPAGATE_HTTP``) makes httpx/requests calls carry the trace context
    (see `enable_http_propagation`); handler options (``capture_content``,
    ``max_attribute_length``, ...) go to the tracing handler, other keywords are ignored as
    instrumentors do. ``uninstrument()`` undoes both. A singleton, as every BaseInstrumentor.
    """

    _propagating = False

    def instrumentation_dependencies(self) -> Collection[str]:
        """Nothing to check: otelchain instruments itself (langchain-core when it is installed)."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        options = {key: value for key, value in kwargs.items() if key in _HANDLER_OPTIONS}
        instrument(tracer_provider=kwargs.get("tracer_provider"), **options)
        propagate = kwargs.get("propagate_http")
        if propagate is None:
            propagate = os.environ.get("OTELCHAIN_PROPAGATE_HTTP", "").strip().lower() in _TRUE
        if propagate:
            enable_http_propagation()
        type(self)._propagating = bool(propagate)

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()
        if type(self)._propagating:
            disable_http_propagation()
            type(self)._propagating = False

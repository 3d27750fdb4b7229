"""`OtelchainInstrumentor`: otelchain as an OpenTelemetry instrumentation (``BaseInstrumentor``).

Registered as the ``otelchain`` ``opentelemetry_instrumentor`` entry point, so
``opentelemetry-instrument python app.py`` finds it and ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=otelchain``
turns it off. It wraps `instrument()` / `uninstrument()`: one shared tracing handler on every
run (otelchain's and, through `instrument()`, langchain-core's), into the provider given or the
global one that ``opentelemetry-instrument`` set up.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otelchain._options import check_bool, env_flag
from otelchain.tracing._handler import OpenTelemetryCallbackHandler
from otelchain.tracing._setup.instrument import instrument, uninstrument
from otelchain.tracing._setup.propagation import disable_http_propagation, enable_http_propagation

__all__ = ["OtelchainInstrumentor"]

logger = logging.getLogger("otelchain.tracing")

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
        if "meter_provider" not in options and launcher_metrics_go_nowhere():
            from opentelemetry.metrics import NoOpMeterProvider

            options["meter_provider"] = NoOpMeterProvider()
        instrument(tracer_provider=kwargs.get("tracer_provider"), **options)
        propagate = check_bool("propagate_http", kwargs.get("propagate_http"), none=True)
        if propagate is None:
            propagate = env_flag("OTELCHAIN_PROPAGATE_HTTP", False, logger)
        if propagate:
            enable_http_propagation()
        type(self)._propagating = bool(propagate)

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()
        if type(self)._propagating:
            disable_http_propagation()
            type(self)._propagating = False


_OTLP = frozenset({"otlp", "otlp_proto_grpc", "otlp_proto_http"})


def _names(variable: str, default: str) -> set[str]:
    return {n.strip().lower() for n in os.environ.get(variable, default).split(",") if n.strip()}


def launcher_metrics_go_nowhere() -> bool:
    """Under ``opentelemetry-instrument``: whether metrics would only go to the default OTLP
    endpoint that nobody set up: the metrics exporter is OTLP (the distro's default) but no
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``..._METRICS_ENDPOINT`` is set and traces do not go over
    OTLP either (``OTEL_TRACES_EXPORTER=otelchain_tree``). otelchain then records no metrics, so a
    collector that is not there logs no errors and holds no exit."""
    if "opentelemetry.instrumentation.auto_instrumentation" not in sys.modules:
        return False  # not the launcher: the app set its meter provider up itself
    metrics = _names("OTEL_METRICS_EXPORTER", "otlp")
    if not metrics <= _OTLP or not metrics:
        return False  # console, prometheus, ...: somewhere the user chose (none: nothing exported)
    if any(
        os.environ.get(v, "").strip()
        for v in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    ):
        return False
    return not (
        _names("OTEL_TRACES_EXPORTER", "otlp") & _OTLP
    )  # traces to the default collector: it is there

"""`configure()`: a TracerProvider from arguments and the standard OTEL_* environment variables.

Exporters are the SDK's own: every name in ``OTEL_TRACES_EXPORTER`` (a comma-separated list) is
looked up in the ``opentelemetry_traces_exporter`` entry points, except ``console`` and
``otelchain_tree`` (otelchain's span tree) and ``otlp`` (gRPC or HTTP as the protocol or port
says). A provider that is already global (set by ``opentelemetry-instrument``, the app or an
earlier call) is reused, never doubled.

Configuration errors in code (arguments, checked up front in `settings`) raise
`ConfigurationError` (a ``ValueError``); errors in the environment are logged once, naming the
variable and its value (secrets masked), and fall back safely: the bad exporter is skipped, the
app keeps running.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otelchain.tracing._setup.delivery import (
    Delivery,
    deliveries,
    queue_length,
    quiet_retries,
    register_exit_flush,
)
from otelchain.tracing._setup.settings import (
    ConfigurationError,
    _building,
    _endpoint_problem,
    _env,
    _headers_from_env,
    _install_header_mask,
    _mask,
    _protocol,
    _report,
    _Setting,
    _setting,
    check_configure_arguments,
    otlp_kwargs,
    otlp_target,
)

__all__ = ["ConfigurationError", "configure"]

logger = logging.getLogger("otelchain.tracing")

_ENTRY_POINT_GROUP = "opentelemetry_traces_exporter"
_OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
_OTLP_NAMES = frozenset({"otlp", *_OTLP_BY_PROTOCOL.values()})
_TREE_NAMES = frozenset({"console", "otelchain_tree"})  # otelchain's span tree (the entry point's name too)
# --- exporters --------------------------------------------------------------------------------


@dataclass
class _OtlpOptions:
    endpoint: str | None
    protocol: str | None
    headers: Mapping[str, str] | None
    timeout: float | None


@dataclass
class _Exporter:
    """One resolved exporter: a key (so it is never added twice) and how to build it."""

    key: str
    build: Callable[[], SpanExporter]
    batch: dict[str, Any] = field(default_factory=dict)
    target: str = ""  # where its spans go, for the exit line (secrets masked)


def _entry_point(name: str) -> type[SpanExporter] | None:
    from importlib.metadata import entry_points

    for entry in entry_points(group=_ENTRY_POINT_GROUP, name=name):
        loaded = entry.load()
        if isinstance(loaded, type) and issubclass(loaded, SpanExporter):
            return loaded
        raise ConfigurationError(f"entry point {name!r} ({entry.value}) is not a SpanExporter")
    return None


def _installed_names() -> list[str]:
    from importlib.metadata import entry_points

    return sorted({*_TREE_NAMES, "none", *(e.name for e in entry_points(group=_ENTRY_POINT_GROUP))})


def _otlp(name: str, options: _OtlpOptions, origin: _Setting) -> _Exporter | None:
    """An OTLP exporter (through the SDK's entry point), with endpoint and protocol validated."""
    endpoint = _setting(options.endpoint, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint is not None and (problem := _endpoint_problem(endpoint.value)) is not None:
        endpoint.fail(problem, "spans are not exported over OTLP")
        return None
    if name == "otlp":
        name = _OTLP_BY_PROTOCOL[_protocol(options.protocol, options.endpoint)]
    exporter_class = _entry_point(name)
    if exporter_class is None:
        origin.fail(f"needs the exporter {name!r}, which is not installed", "it is skipped")
        return None
    headers = dict(options.headers) if options.headers is not None else _headers_from_env()
    # endpoint None: the exporter reads its own variables (already validated above)
    grpc = name == "otlp_proto_grpc"
    kwargs = otlp_kwargs(options.endpoint, grpc, "traces", headers, options.timeout)
    key = f"{name} {endpoint.value if endpoint else ''}"
    return _Exporter(key, lambda: exporter_class(**kwargs), target=otlp_target(endpoint, grpc, "traces"))


def _console() -> SpanExporter:
    from otelchain.tracing._console.tree import ConsoleSpanTreeExporter

    return ConsoleSpanTreeExporter()


def _names(exporter: str | Sequence[str | SpanExporter] | None, endpoint: str | None) -> list[_Setting]:
    """The exporter names asked for (argument, else OTEL_TRACES_EXPORTER, else the default)."""
    if isinstance(exporter, str):
        items: list[_Setting] = [_Setting(part) for part in exporter.split(",")]
    elif exporter is not None:
        items = [_Setting(part) for part in exporter if isinstance(part, str)]
    elif (found := _env("OTEL_TRACES_EXPORTER")) is not None:
        items = [_Setting(part, found[0]) for part in found[1].split(",")]
    else:
        has_endpoint = endpoint or _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
        items = [_Setting("otlp" if has_endpoint else "console", "OTEL_TRACES_EXPORTER (default)")]
    return [_Setting(s.value.strip().lower(), s.env) for s in items if s.value.strip()]


def _given(span_exporter: SpanExporter) -> _Exporter:
    return _Exporter(
        f"object {id(span_exporter)}", lambda: span_exporter, target=type(span_exporter).__name__
    )


def _exporters(exporter: str | Sequence[str | SpanExporter] | SpanExporter | None, options: _OtlpOptions,
               ) -> list[_Exporter]:  # fmt: skip
    """Every exporter asked for, resolved; bad environment entries are reported and skipped."""
    if isinstance(exporter, SpanExporter):
        return [_given(exporter)]
    found: list[_Exporter] = []
    if exporter is not None and not isinstance(exporter, str):
        found.extend(_given(item) for item in exporter if isinstance(item, SpanExporter))
    for setting in _names(exporter, options.endpoint):
        name = setting.value
        if name == "none":
            continue
        if name in _TREE_NAMES:
            found.append(_Exporter("console", _console, {"schedule_delay_millis": 500}, "the console"))
        elif name in _OTLP_NAMES:
            if (otlp := _otlp(name, options, setting)) is not None:
                found.append(otlp)
        else:
            exporter_class = _entry_point(name)
            if exporter_class is None:
                setting.fail(
                    f"is not an installed trace exporter (installed: {', '.join(_installed_names())}; "
                    f"OTEL_TRACES_EXPORTER / exporter)",
                    "it is skipped",
                )
                continue
            found.append(_Exporter(name, exporter_class, target=name))
    return found


# --- providers --------------------------------------------------------------------------------

_added: weakref.WeakKeyDictionary[TracerProvider, set[str]] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def _flush_and_shut_down(provider: TracerProvider) -> Callable[[float], None]:
    def run(seconds: float) -> None:
        provider.force_flush(int(seconds * 1000))
        provider.shutdown()

    return run


def _has_span_processors(provider: TracerProvider) -> bool:
    """Whether the provider already sends spans somewhere (unknown SDK internals: assume so)."""
    active = getattr(provider, "_active_span_processor", None)
    processors = getattr(active, "_span_processors", None)
    return True if processors is None else bool(processors)


def _attach(
    provider: TracerProvider, exporters: Sequence[_Exporter], batch_options: Mapping[str, Any]
) -> None:
    """Add each exporter (in a BatchSpanProcessor) that configure() has not added to this provider."""
    added = _added.setdefault(provider, set())
    accounts = deliveries(provider)
    for item in exporters:
        if item.key in added:
            continue
        added.add(item.key)
        token = _building.set(True)
        try:
            span_exporter = item.build()
        finally:
            _building.reset(token)
        from otelchain.tracing._setup.export_health import HealthExporter, watch_queue_drops

        watch_queue_drops()  # spans dropped and exports failed are counted in tracing.health()
        quiet_retries(span_exporter)  # its retry messages are summed up (the first one shown)
        delivery = Delivery("spans", item.target or type(span_exporter).__name__)
        processor = BatchSpanProcessor(
            HealthExporter(span_exporter, delivery), **(item.batch | dict(batch_options))
        )
        delivery.queued = functools.partial(queue_length, processor)
        accounts.append(delivery)
        provider.add_span_processor(processor)


def _global_sdk_provider() -> TracerProvider | None:
    current = trace.get_tracer_provider()
    return current if isinstance(current, TracerProvider) else None


def _tracer_provider(
    resource: Resource,
    span_limits: SpanLimits | None,
    exporters: Callable[[], Sequence[_Exporter]],
    explicit: bool,
    set_global: bool,
    flush_timeout: float,
    batch_options: Mapping[str, Any],
) -> TracerProvider:
    """The global SDK provider when there is one (exporters added only if asked for in code or if
    it exports nowhere yet, each once), else a new one, made global when ``set_global``."""
    with _lock:
        if set_global and (current := _global_sdk_provider()) is not None:
            if explicit or (not _has_span_processors(current) and current not in _added):
                _attach(current, exporters(), batch_options)
            return current
        provider = TracerProvider(resource=resource, span_limits=span_limits, shutdown_on_exit=False)
        _attach(provider, exporters(), batch_options)
        register_exit_flush(provider, _flush_and_shut_down(provider), flush_timeout)
        if set_global:
            if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
                trace.set_tracer_provider(provider)
            else:  # a non-SDK provider is global: keep it, hand back ours for explicit use
                logger.info("otelchain tracing: a non-SDK global TracerProvider is set; not replacing it")
        return provider


def configure(
    *,
    service_name: str | None = None,
    exporter: str | SpanExporter | Sequence[str | SpanExporter] | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    span_limits: SpanLimits | None = None,
    set_global: bool = True,
    flush_timeout: float = 5.0,
    cost: bool | None = None,
    **batch_options: Any,
) -> TracerProvider:
    """The app's TracerProvider, from arguments or the standard env vars; safe to call repeatedly.

    If an SDK TracerProvider is already global (``opentelemetry-instrument``, the app, an earlier
    call), it is returned as is: nothing is added twice and its resource is kept; exporters named
    in ``exporter`` are added to it once. Otherwise a new provider with a BatchSpanProcessor per
    exporter is built (``batch_options`` are its settings), made global when ``set_global``, and
    flushed at exit within ``flush_timeout`` seconds, at the same time as the MeterProvider
    below (one bound for both; what is dropped then is said in one line, with counts).

    ``exporter``: names or `SpanExporter` objects, a list or a comma-separated string, as in
    ``OTEL_TRACES_EXPORTER`` (its default): ``console`` or ``otelchain_tree`` (the span tree),
    ``otlp`` (gRPC or HTTP by ``protocol``, else gRPC for port 4317, else HTTP), ``none``, or any
    name registered as an ``opentelemetry_traces_exporter`` entry point (``otlp_proto_http``,
    ``otlp_proto_grpc``, ``zipkin_json``, ...); unset, otlp when an endpoint is set and the console
    tree otherwise. ``endpoint``, ``protocol`` (``grpc`` or ``http/protobuf``), ``headers`` (a
    mapping, or ``"name=value,name=value"`` as ``OTEL_EXPORTER_OTLP_HEADERS`` spells them) and
    ``timeout`` (seconds) default to ``OTEL_EXPORTER_OTLP_*``; ``service_name`` to
    ``OTEL_SERVICE_NAME``. ``flush_timeout``: seconds, a finite number >= 0. ``batch_options``:
    the BatchSpanProcessor's (``max_queue_size``, ``schedule_delay_millis``,
    ``max_export_batch_size``, ``export_timeout_millis``).

    A bad argument raises `ConfigurationError` (a ValueError) naming it, before anything changes
    (an unknown keyword: TypeError, as Python's own); a bad variable is logged once, masked, and
    that exporter skipped.

    A MeterProvider for the GenAI metrics is set up beside the TracerProvider, with the same
    endpoint, protocol and headers (``OTEL_EXPORTER_OTLP_METRICS_*`` too): OTLP when an endpoint
    is set, else off; ``OTEL_METRICS_EXPORTER`` honoured (``otlp``, ``console``, ``none``: off);
    an SDK MeterProvider already global is kept.

    ``cost=False`` stops pricing model calls (``gen_ai.usage.cost.*`` and the cost metric) in every
    handler that was not given ``cost`` itself; None leaves it to ``OTELCHAIN_COST`` (default on).
    """
    headers = check_configure_arguments(
        service_name, exporter, headers, timeout, flush_timeout, cost, batch_options
    )
    _install_header_mask()
    if cost is not None:
        from otelchain.tracing._conventions.cost import set_cost_default

        set_cost_default(cost)
    if endpoint is not None and (problem := _endpoint_problem(endpoint)) is not None:
        raise ConfigurationError(f"endpoint {_mask(endpoint)!r} {problem}")
    if protocol is not None:
        _protocol(protocol, endpoint)  # raises for an unknown protocol argument
    options = _OtlpOptions(endpoint, protocol, headers, timeout)
    explicit = exporter is not None or endpoint is not None
    if explicit:
        resolved = _exporters(exporter, options)  # argument errors raise here, before any change
        exporters: Callable[[], Sequence[_Exporter]] = lambda: resolved  # noqa: E731
    else:
        exporters = lambda: _exporters(None, options)  # noqa: E731
    resource = Resource.create({SERVICE_NAME: service_name} if service_name else None)
    # The one place providers are built (the MeterProvider below, beside this one).
    provider = _tracer_provider(
        resource, span_limits, exporters, explicit, set_global, flush_timeout, batch_options
    )
    logger.debug("otelchain tracing: provider=%s headers=%s", type(provider).__name__,
                 "set" if headers or _env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
                 else "none")  # fmt: skip
    # The MeterProvider beside it: a bad variable is reported once, as for traces (one line even
    # when traces already reported it), and metrics stay off.
    from otelchain.tracing._setup.metrics import configure_metrics

    try:
        configure_metrics(
            resource=resource,
            endpoint=endpoint,
            protocol=protocol,
            headers=headers,
            timeout=timeout,
            set_global=set_global,
            flush_timeout=flush_timeout,
        )
    except ConfigurationError as error:  # a bad variable (arguments were checked above)
        if error.setting is None or error.setting.env is None:
            raise
        _report(error.setting.env, error.setting.value, error.problem, "metrics are not exported")
    except Exception as error:  # the SDK's own settings (OTEL_METRIC_*): logged, metrics off, tracing on
        logger.warning("otelchain metrics: not configured: %s: %s", type(error).__name__, error)
    return provider

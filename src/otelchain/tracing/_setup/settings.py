"""Settings read once for traces and metrics alike: an argument or an ``OTEL_*`` variable, where it
came from, and one clear error per bad value (secrets masked); `configure()`'s arguments checked up
front; OTLP endpoints, protocols, headers and exporter arguments as the SDK reads them."""

from __future__ import annotations

import contextvars
import inspect
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otelchain._options import check_bool, check_seconds, first_report

__all__ = ["ConfigurationError", "check_configure_arguments", "otlp_kwargs", "otlp_target"]

logger = logging.getLogger("otelchain.tracing")

_PROTOCOLS = ("grpc", "http/protobuf")
_SECRET_WORDS = "auth|key|token|secret|password|passwd|cookie|credential|signature"


class ConfigurationError(ValueError):
    """A setting `configure()` cannot use; the message names the setting and its (masked) value."""

    def __init__(self, message: str, setting: _Setting | None = None, problem: str = "") -> None:
        super().__init__(message)
        self.setting = setting
        self.problem = problem


def _env(*names: str) -> tuple[str, str] | None:
    """(variable, value) of the first of ``names`` that is set and not blank."""
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip():
            return name, value.strip()
    return None


def _mask(value: str) -> str:
    """A value safe to print: URL user info and secret-looking header or query values replaced."""
    text = re.sub(r"(?<=://)[^/@\s]*@", "***@", value)
    return re.sub(
        rf"(?P<key>[\w.\-]*(?:{_SECRET_WORDS})[\w.\-]*)"
        r"(?P<sep>\s*[=:]\s*)[^,&;\s]+(?:\s+[^,&;\s=]+)?",
        lambda m: f"{m.group('key')}{m.group('sep')}***",
        text,
        flags=re.IGNORECASE,
    )


def _report(variable: str, value: str, problem: str, fallback: str) -> None:
    """Log one clear error per (variable, value), however often configure() runs."""
    shown = _mask(value)
    if not first_report(variable, shown):
        return
    logger.error("otelchain tracing: %s=%r %s; %s", variable, shown, problem, fallback)


@dataclass
class _Setting:
    """A value and where it came from: an argument (``env`` None) or an environment variable."""

    value: str
    env: str | None = None

    def fail(self, problem: str, fallback: str, *, strict: bool = False) -> None:
        """Raise for an argument (or any setting when ``strict``); else log once and let the
        caller fall back."""
        if self.env is None or strict:
            where = f"{self.env}=" if self.env else ""
            raise ConfigurationError(f"{where}{_mask(self.value)!r} {problem}", self, problem)
        _report(self.env, self.value, problem, fallback)


def _setting(argument: str | None, *env_names: str) -> _Setting | None:
    if argument is not None:
        return _Setting(argument)
    found = _env(*env_names)
    return _Setting(found[1], found[0]) if found else None


# --- configure()'s arguments ------------------------------------------------------------------

_T = TypeVar("_T")
_BATCH_OPTIONS = tuple(
    name
    for name in inspect.signature(BatchSpanProcessor.__init__).parameters
    if name not in ("self", "span_exporter")
)
_EXPORTER_NAMES = "console, otelchain_tree, otlp, none or an installed exporter's name"


def _checked(check: Callable[..., _T], name: str, value: object, **options: Any) -> _T:
    """An `otelchain._options` check whose error is a `ConfigurationError` (what configure()
    promises for a bad argument)."""
    try:
        return check(name, value, **options)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(str(error)) from None


def _headers_argument(headers: object) -> dict[str, str] | None:
    """``headers=``: a mapping of strings, or the variable's ``name=value,name=value`` string."""
    if headers is None:
        return None
    if isinstance(headers, str):

        def malformed(shown: str) -> None:
            raise ConfigurationError(
                f"headers: {shown!r} is not a name=value header (headers='name=value,name=value')"
            )

        return _parse_headers(headers, malformed)
    if not isinstance(headers, Mapping):
        raise ConfigurationError(
            "headers must be a mapping of names to values or a 'name=value,name=value' string, "
            f"got {type(headers).__name__}"
        )
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ConfigurationError("headers must map names to strings")
    return dict(headers)


def _exporter_argument(exporter: object) -> None:
    """``exporter=``: names (a string or a list) and SpanExporter objects, at least one."""
    if exporter is None or isinstance(exporter, SpanExporter):
        return
    items = exporter.split(",") if isinstance(exporter, str) else exporter
    if not isinstance(items, Sequence):
        raise ConfigurationError(
            "exporter must be names or SpanExporter objects (a string, a list), "
            f"got {type(exporter).__name__}"
        )
    for item in items:
        if not isinstance(item, (str, SpanExporter)):
            raise ConfigurationError(
                f"exporter must be names or SpanExporter objects, got a {type(item).__name__} in the list"
            )
    if not any(isinstance(i, SpanExporter) or i.strip() for i in items):
        raise ConfigurationError(
            f"exporter is empty: name at least one ({_EXPORTER_NAMES}; 'none' exports nothing), "
            "or leave it None for OTEL_TRACES_EXPORTER"
        )


def check_configure_arguments(
    service_name: object,
    exporter: object,
    headers: object,
    timeout: object,
    flush_timeout: object,
    cost: object,
    batch_options: Mapping[str, Any],
) -> dict[str, str] | None:
    """`configure()`'s arguments, checked before anything changes: a `ConfigurationError` naming
    the bad one (a `TypeError` for an unknown keyword, as Python's own). Returns the headers as
    a dict (a string is parsed as ``OTEL_EXPORTER_OTLP_HEADERS`` is)."""
    unknown = sorted(set(batch_options) - set(_BATCH_OPTIONS))
    if unknown:
        raise TypeError(
            f"configure() got an unexpected keyword argument {unknown[0]!r} (besides its own, it "
            f"takes the BatchSpanProcessor's: {', '.join(_BATCH_OPTIONS)})"
        )
    if service_name is not None and not isinstance(service_name, str):
        raise ConfigurationError(f"service_name must be a string, got {type(service_name).__name__}")
    _exporter_argument(exporter)
    _checked(check_seconds, "timeout", timeout, positive=True, none="the exporter's default")
    _checked(check_seconds, "flush_timeout", flush_timeout)
    _checked(check_bool, "cost", cost, none=True)
    return _headers_argument(headers)


# --- validation -------------------------------------------------------------------------------


def _endpoint_problem(endpoint: str) -> str | None:
    """Why ``endpoint`` is not a usable OTLP URL, or None."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port  # raises for a non-numeric or out-of-range port
    except ValueError as error:
        return f"is not a valid OTLP endpoint ({error}); expected http(s)://host:port"
    if parts.scheme not in ("http", "https"):
        return "is not a valid OTLP endpoint: expected an http:// or https:// URL (host:port)"
    if not parts.hostname or " " in endpoint:
        return "is not a valid OTLP endpoint: no host; expected http(s)://host:port"
    if port == 0:
        return "is not a valid OTLP endpoint: port 0"
    return None


def _protocol(
    protocol: str | None, endpoint: str | None, signal: str = "TRACES", strict: bool = False
) -> str:
    """The OTLP protocol asked for; unset (or unusable in the environment, unless ``strict``),
    gRPC when the endpoint is on the gRPC port 4317 (so
    ``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317`` just works), else HTTP."""
    if endpoint is None:
        found = _env(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
        endpoint = found[1] if found else None
    try:
        port = urlsplit(endpoint).port if endpoint else None
    except ValueError:
        port = None
    default = "grpc" if port == 4317 else "http/protobuf"
    setting = _setting(protocol, f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
    if setting is None:
        return default
    value = setting.value.strip().lower()
    if value not in _PROTOCOLS:
        # the base variable is read for traces and metrics alike, and both fall back alike
        both = " for traces and metrics" if setting.env == "OTEL_EXPORTER_OTLP_PROTOCOL" else ""
        setting.fail(f"must be one of {list(_PROTOCOLS)} (OTEL_EXPORTER_OTLP_PROTOCOL / protocol)",
                     f"using {default}{both}", strict=strict)  # fmt: skip
        return default
    return value


_HEADER = re.compile(r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*(.*?)\s*")


def _parse_headers(raw: str, malformed: Callable[[str], None]) -> dict[str, str]:
    """``name=value,name=value`` (URL-encoded, as ``OTEL_EXPORTER_OTLP_HEADERS`` spells them);
    each malformed entry, its value masked, goes to ``malformed`` and is skipped."""
    headers: dict[str, str] = {}
    for entry in raw.split(","):
        if not entry.strip():
            continue
        match = _HEADER.fullmatch(entry)
        if match is None:
            name = re.split(r"[=:\s]", entry.strip(), maxsplit=1)[0]
            malformed(f"{name}=***" if name != entry.strip() else "***")
            continue
        headers[unquote(match.group(1)).lower()] = unquote(match.group(2))
    return headers


def _headers_from_env() -> dict[str, str] | None:
    """OTLP headers from the environment, parsed here so a malformed entry is reported with its
    value masked (the SDK's own parser prints it in full); malformed entries are skipped."""
    found = _env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
    if found is None:
        return None
    variable, raw = found
    return _parse_headers(
        raw, lambda shown: _report(variable, shown, "is not a name=value header", "that entry is skipped")
    )


class _MaskSdkHeaderWarnings(logging.Filter):
    """On the SDK's header parser logger: never print a header value. While configure() builds
    exporters (it reports bad entries itself) the SDK's duplicate is dropped; otherwise masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Header format invalid" not in str(record.msg):
            return True
        if _building.get():
            return False
        record.args = tuple(
            re.split(r"[=:\s]", str(a).strip(), maxsplit=1)[0] + "=***" if isinstance(a, str) else a
            for a in (record.args if isinstance(record.args, tuple) else ())
        )
        return True


_building: contextvars.ContextVar[bool] = contextvars.ContextVar("otelchain_building", default=False)
_mask_filter = _MaskSdkHeaderWarnings()


def _install_header_mask() -> None:
    """Make the SDK's OTLP header parser mask values (idempotent)."""
    sdk_logger = logging.getLogger("opentelemetry.util.re")
    if _mask_filter not in sdk_logger.filters:
        sdk_logger.addFilter(_mask_filter)


def otlp_target(endpoint: _Setting | None, grpc: bool, signal: str) -> str:
    """The URL an OTLP exporter sends ``signal`` to, as the SDK resolves it (for messages:
    credentials masked)."""
    if endpoint is None:
        url = "http://localhost:4317" if grpc else f"http://localhost:4318/v1/{signal}"
    elif grpc or endpoint.env == f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT":
        url = endpoint.value
    elif endpoint.env is None:
        url = otlp_kwargs(endpoint.value, False, signal, None, None)["endpoint"]
    else:  # the base variable: the HTTP exporter adds the signal's path
        url = endpoint.value.rstrip("/") + f"/v1/{signal}"
    return _mask(url)


def otlp_kwargs(
    url: str | None, grpc: bool, signal: str, headers: Mapping[str, str] | None, timeout: float | None
) -> dict[str, Any]:
    """An OTLP exporter's arguments: gRPC is insecure on ``http://``; HTTP posts to
    ``/v1/<signal>``, added to a base URL (as ``OTEL_EXPORTER_OTLP_ENDPOINT`` is) or replacing
    the traces path of a URL given for both signals."""
    kwargs: dict[str, Any] = {"headers": dict(headers) if headers else None, "timeout": timeout}
    if grpc:
        kwargs["insecure"] = None if url is None else url.startswith("http://")
    elif url is not None and not url.rstrip("/").endswith(f"/v1/{signal}"):
        url = url.rstrip("/").removesuffix("/v1/traces") + f"/v1/{signal}"
    kwargs["endpoint"] = url
    return kwargs

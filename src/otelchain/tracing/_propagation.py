"""Opt-in W3C trace context on outgoing HTTP calls, for apps without HTTP client instrumentation.

With `enable_http_propagation()` every request sent by httpx (sync and async) or requests carries
the current span's ``traceparent`` (and ``tracestate``/baggage, through the global propagator), so
a service called from a tool nests its server span under ``execute_tool``. A header already on
the request is kept, and the standard httpx/requests instrumentations, when active, replace it
with their client span's context, so the two never conflict.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, MutableMapping
from typing import Any

from opentelemetry import propagate, trace

__all__ = ["disable_http_propagation", "enable_http_propagation", "http_propagation_enabled"]

logger = logging.getLogger("otelchain.tracing")

_lock = threading.Lock()
_enabled = False
_patched: dict[tuple[type[Any], str], Callable[..., Any]] = {}  # (class, method) -> the original


def _inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's context unless the request already carries one; never raises."""
    try:
        if not _enabled or "traceparent" in headers:
            return
        if not trace.get_current_span().get_span_context().is_valid:
            return
        propagate.inject(headers)
    except Exception as error:  # tracing must never break the call
        logger.debug("otelchain tracing: trace context not injected: %s: %s", type(error).__name__, error)


def _sync_send(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        _inject(request.headers)
        return original(self, request, *args, **kwargs)

    send.__otelchain_original__ = original  # type: ignore[attr-defined]
    return send


def _async_send(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        _inject(request.headers)
        return await original(self, request, *args, **kwargs)

    send.__otelchain_original__ = original  # type: ignore[attr-defined]
    return send


def _targets() -> list[tuple[type[Any], str, Callable[[Callable[..., Any]], Callable[..., Any]]]]:
    """(class, method, wrapper) for each installed HTTP client library."""
    found: list[tuple[type[Any], str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = []
    try:
        import httpx

        found += [(httpx.Client, "send", _sync_send), (httpx.AsyncClient, "send", _async_send)]
    except ImportError:
        pass
    try:
        import requests

        found.append((requests.Session, "send", _sync_send))
    except ImportError:
        pass
    return found


def enable_http_propagation() -> None:
    """Make httpx and requests calls carry the current trace context (idempotent)."""
    global _enabled
    with _lock:
        for cls, name, wrap in _targets():
            if (cls, name) not in _patched:
                original = cls.__dict__[name]
                _patched[(cls, name)] = original
                setattr(cls, name, wrap(original))
        _enabled = True


def disable_http_propagation() -> None:
    """Undo `enable_http_propagation()`: the original methods come back where nobody wrapped ours
    since (another instrumentation wrapping them keeps working; ours then just stops injecting)."""
    global _enabled
    with _lock:
        _enabled = False
        for (cls, name), original in list(_patched.items()):
            current = cls.__dict__.get(name)
            if getattr(current, "__otelchain_original__", None) is original:
                setattr(cls, name, original)
                del _patched[(cls, name)]


def http_propagation_enabled() -> bool:
    """Whether outgoing httpx/requests calls carry the trace context now."""
    return _enabled

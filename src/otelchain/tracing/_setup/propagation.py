"""Opt-in W3C trace context on outgoing HTTP calls, for apps without HTTP client instrumentation.

With `enable_http_propagation()` every request sent by httpx (sync and async) or requests carries
the current span's ``traceparent`` (and ``tracestate``/baggage, through the global propagator), so
a service called from a tool nests its server span under ``execute_tool``. A header already on
the request is kept, and the standard httpx/requests instrumentations, when active, replace it
with their client span's context, so the two never conflict.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable, MutableMapping
from typing import Any

from opentelemetry import propagate, trace

__all__ = ["disable_http_propagation", "enable_http_propagation", "http_propagation_enabled"]

logger = logging.getLogger("otelchain.tracing")

_lock = threading.Lock()
_enabled = False
_patched: dict[type[Any], Callable[..., Any]] = {}  # client class -> its original send


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


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    """``send`` (sync or async, as the original) injecting the trace context first."""

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        _inject(request.headers)
        return original(self, request, *args, **kwargs)

    async def send_async(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        _inject(request.headers)
        return await original(self, request, *args, **kwargs)

    wrapper = functools.update_wrapper(
        send_async if inspect.iscoroutinefunction(original) else send, original
    )
    wrapper.__otelchain_original__ = original  # type: ignore[attr-defined]
    return wrapper


def _targets() -> list[type[Any]]:
    """The client classes (each with a ``send``) of the installed HTTP libraries."""
    found: list[type[Any]] = []
    try:
        import httpx

        found += [httpx.Client, httpx.AsyncClient]
    except ImportError:
        pass
    try:
        import requests

        found.append(requests.Session)
    except ImportError:
        pass
    return found


def enable_http_propagation() -> None:
    """Make httpx and requests calls carry the current trace context (idempotent)."""
    global _enabled
    with _lock:
        for cls in _targets():
            if cls not in _patched:
                _patched[cls] = cls.__dict__["send"]
                cls.send = _wrap(_patched[cls])
        _enabled = True


def disable_http_propagation() -> None:
    """Undo `enable_http_propagation()`: the original methods come back where nobody wrapped ours
    since (another instrumentation wrapping them keeps working; ours then just stops injecting)."""
    global _enabled
    with _lock:
        _enabled = False
        for cls, original in list(_patched.items()):
            if getattr(cls.__dict__.get("send"), "__otelchain_original__", None) is original:
                cls.send = original
                del _patched[cls]


def http_propagation_enabled() -> bool:
    """Whether outgoing httpx/requests calls carry the trace context now."""
    return _enabled

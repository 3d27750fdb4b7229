"""The one place where events reach handlers.

Policy, identical for sync and async handlers: a handler that raises is logged (with its class
and the event) and counted, and the run goes on, unless the handler sets ``raise_error``.
Missing methods and flags are no-ops, so plain objects work as handlers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from otelchain.callbacks._base import BASE_NO_OPS, UNIMPLEMENTED_CHAT_START

__all__ = [
    "add_error_listener",
    "adispatch",
    "ahandle_event",
    "dispatch",
    "handle_event",
    "handler_error_counts",
    "reset_handler_error_counts",
]

logger = logging.getLogger("otelchain.callbacks")

_errors: Counter[tuple[str, str]] = Counter()
_errors_lock = threading.Lock()
_listeners: list[Callable[[], None]] = []


def add_error_listener(listener: Callable[[], None]) -> None:
    """Call ``listener()`` after each counted handler error (tracing health logs the totals)."""
    if listener not in _listeners:
        _listeners.append(listener)


def handler_error_counts() -> dict[tuple[str, str], int]:
    """How many times each (handler class, event) raised since start (or the last reset)."""
    with _errors_lock:
        return dict(_errors)


def reset_handler_error_counts() -> None:
    """Forget the counted handler errors (for tests and long-running apps)."""
    with _errors_lock:
        _errors.clear()


def _report(handler: Any, event: str, error: BaseException) -> None:
    name = type(handler).__qualname__
    with _errors_lock:
        _errors[(name, event)] += 1
    logger.warning("Error in %s.%s callback: %s: %s", name, event, type(error).__name__, _safe_str(error))
    for listener in _listeners:
        try:
            listener()
        except Exception:  # a broken listener must not break the run
            logger.debug("handler error listener failed", exc_info=True)


def _safe_str(error: BaseException) -> str:
    """The message of an error, even when its ``__str__`` raises."""
    try:
        return str(error)
    except Exception:
        return f"<{type(error).__name__}: unprintable message>"


def _chat_fallback(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Turn on_chat_model_start's arguments into on_llm_start's (messages → strings)."""
    from otelchain.schema import get_buffer_string

    serialized, messages, *rest = args
    return (serialized, [get_buffer_string(m) for m in messages], *rest)


def handle_event(handlers: Sequence[Any], event: str, ignore: str | None, *args: Any, **kwargs: Any) -> None:
    """Call ``event`` on every handler in order, from sync code.

    Every handler gets the event even when an earlier one raises (a ``raise_error`` handler, or
    an interrupt landing inside a handler): the first such error is raised after the last handler,
    so a handler that saw a run start always sees its end.
    """
    error = dispatch(handlers, event, ignore, args, kwargs)
    if error is not None:
        raise error


def dispatch(
    handlers: Sequence[Any],
    event: str,
    ignore: str | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    interrupted: list[Any] | None = None,
) -> BaseException | None:
    """`handle_event` that returns the first error to raise instead of raising it; handlers an
    interrupt (KeyboardInterrupt, SystemExit) cut short are added to ``interrupted``."""
    first: BaseException | None = None
    for handler in handlers:
        try:
            guarded = _call(handler, event, ignore, args, kwargs)
            if guarded is not None:  # an async handler called from sync code
                _run_sync(guarded)
        except BaseException as error:  # raise_error, KeyboardInterrupt, SystemExit: after the rest
            first = _noted(first, error, handler, interrupted)
    return first


def _noted(
    first: BaseException | None, error: BaseException, handler: Any, interrupted: list[Any] | None
) -> BaseException:
    """The first error of a dispatch; a handler an interrupt cut short joins ``interrupted``."""
    if interrupted is not None and not isinstance(error, Exception):
        interrupted.append(handler)
    return error if first is None else first


def _report_or_raise(handler: Any, event: str, error: Exception) -> None:
    if getattr(handler, "raise_error", False):
        raise error
    _report(handler, event, error)


async def ahandle_event(
    handlers: Sequence[Any], event: str, ignore: str | None, *args: Any, **kwargs: Any
) -> None:
    """Call ``event`` on every handler, from async code.

    Sync handlers and ``run_inline`` async handlers run in order, in the caller's task, so they
    see its contextvars; other async handlers then run concurrently. Every handler gets the
    event: none is skipped because another is inline (langchain-core #39633), raised
    (``raise_error``) or was cancelled; the first such error is raised after the last handler.
    """
    error = await adispatch(handlers, event, ignore, args, kwargs)
    if error is not None:
        raise error


async def adispatch(
    handlers: Sequence[Any],
    event: str,
    ignore: str | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    interrupted: list[Any] | None = None,
) -> BaseException | None:
    """`ahandle_event` that returns the first error to raise instead of raising it; sync and
    inline handlers an interrupt cut short are added to ``interrupted``."""
    first: BaseException | None = None
    pending: list[Awaitable[None]] = []
    for handler in handlers:
        try:
            guarded = _call(handler, event, ignore, args, kwargs)
            if guarded is None:
                continue
            if getattr(handler, "run_inline", False):
                await guarded
            else:
                pending.append(guarded)
        except BaseException as error:  # raise_error, CancelledError, KeyboardInterrupt
            first = _noted(first, error, handler, interrupted)
    if pending:
        try:
            if len(pending) == 1:
                await pending[0]
            else:
                results = await asyncio.gather(*pending, return_exceptions=True)
                for result in results:
                    if isinstance(result, BaseException) and first is None:
                        first = result
        except BaseException as error:  # cancelled while the handlers ran
            if first is None:
                first = error
    return first


def _call(
    handler: Any, event: str, ignore: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Coroutine[Any, Any, None] | None:
    """Call one handler (sync and async dispatch alike): errors are reported or raised by the
    policy above; an awaitable result comes back guarded by it (None: nothing to await)."""
    if ignore is not None and getattr(handler, ignore, False):
        return None
    method = getattr(handler, event, None)
    call_event, call_args = event, args
    func = getattr(method, "__func__", None)
    if func is not None:  # a bound method: skip the base classes' no-ops
        if func in BASE_NO_OPS:
            return None
        if func in UNIMPLEMENTED_CHAT_START:
            method = None
    if method is None and event == "on_chat_model_start":
        method, call_event, call_args = _fallback_target(handler, args)
    if method is None:
        return None
    try:
        result = method(*call_args, **kwargs)
    except NotImplementedError:
        if event != "on_chat_model_start":
            _report_or_raise(handler, event, NotImplementedError(event))
            return None
        method, call_event, call_args = _fallback_target(handler, args)
        if method is None:
            return None
        try:
            result = method(*call_args, **kwargs)
        except Exception as error:
            _report_or_raise(handler, call_event, error)
            return None
    except Exception as error:
        _report_or_raise(handler, event, error)
        return None
    if result is not None and inspect.isawaitable(result):  # (isawaitable is three ABC checks)
        return _guard(handler, event, call_event, call_args, kwargs, result)
    return None


def _fallback_target(handler: Any, args: tuple[Any, ...]) -> tuple[Any, str, tuple[Any, ...]]:
    method = getattr(handler, "on_llm_start", None)
    if getattr(handler, "ignore_llm", False) or getattr(method, "__func__", None) in BASE_NO_OPS:
        return None, "on_llm_start", args
    return method, "on_llm_start", _chat_fallback(args)


async def _guard(
    handler: Any,
    event: str,
    call_event: str,
    call_args: tuple[Any, ...],
    kwargs: dict[str, Any],
    awaitable: Awaitable[Any],
) -> None:
    try:
        await awaitable
    except NotImplementedError:
        if event != "on_chat_model_start" or call_event != event:
            _report_or_raise(handler, call_event, NotImplementedError(call_event))
            return
        method, fb_event, fb_args = _fallback_target(handler, call_args)
        if method is not None:
            try:
                result = method(*fb_args, **kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception as error:
                _report_or_raise(handler, fb_event, error)
    except Exception as error:
        _report_or_raise(handler, call_event, error)


# --- running async handlers from sync code --------------------------------------------------

_local = threading.local()
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _run_sync(awaitable: Awaitable[Any]) -> Any:
    """Run an async handler's coroutine to completion from sync code."""
    coro: Coroutine[Any, Any, Any] = _as_coroutine(awaitable)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
        if loop is None or loop.is_closed():
            loop = _local.loop = asyncio.new_event_loop()
        return loop.run_until_complete(coro)
    # A loop is running in this thread (sync API called from async code): we cannot block it
    # re-entrantly, so run the coroutine on a worker thread with the caller's contextvars.
    ctx = contextvars.copy_context()
    return _worker_pool().submit(ctx.run, asyncio.run, coro).result()


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _as_coroutine(awaitable: Awaitable[Any]) -> Coroutine[Any, Any, Any]:
    if inspect.iscoroutine(awaitable):
        return awaitable
    return _await(awaitable)


def _worker_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="otelchain-cb")
        return _pool

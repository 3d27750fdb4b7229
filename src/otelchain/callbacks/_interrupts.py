"""Ctrl-C deferred while otelchain updates its own run state.

A ``KeyboardInterrupt`` from Ctrl-C is raised at whatever bytecode the main thread runs. Landing
inside the few lines that record a run and start its span, or end the span and forget the run
(the OpenTelemetry SDK's own ``start_span``/``end`` included), it could leave a span that never
ends or a run that is never forgotten. ``with DEFER_INTERRUPTS:`` around those short sections
holds a Ctrl-C that arrives inside them and raises it as the section exits, as trio protects its
own bookkeeping.

It applies only while Python's default SIGINT handler (``signal.default_int_handler``) is in
place, and only in the main thread (the only one Python delivers signals to): for the length
of the section the default handler is swapped for one that defers, and put back on exit, so the
app, asyncio and any library that checks for the default handler see it everywhere else. A
handler the app (or asyncio, uvicorn, ...) installed is never replaced: its sections are not
protected. A second Ctrl-C while one is held is raised at once (a user pressing again is not
kept waiting by a slow exporter). Async code never holds a section across an ``await``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

try:  # the C functions under `signal`, without its conversions of handlers to enums (microseconds)
    import _signal  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover (CPython always has it)
    _signal = signal

__all__ = ["DEFER_INTERRUPTS", "deferring"]

_SIGINT: int = signal.SIGINT
_default: object = signal.default_int_handler
_set_handler: Callable[[int, Any], Any] = _signal.signal
_get_handler: Callable[[int], Any] = _signal.getsignal
_get_ident = threading.get_ident
_main_ident = threading.main_thread().ident  # the thread signals are delivered to

_depth = 0  # nesting of sections in the main thread
_installed = False  # whether the outermost section swapped in `_defer`
_pending = False  # a Ctrl-C arrived inside a section


def _defer(signum: int, frame: FrameType | None) -> None:
    """The SIGINT handler while a section runs: hold the interrupt (a second one: raise now)."""
    global _pending
    if _depth > 0 and not _pending:
        _pending = True
        return
    _pending = False
    signal.default_int_handler(signum, frame)


def deferring() -> bool:
    """Whether a section is running now with the deferring handler in place (for tests)."""
    return _installed and _get_handler(_SIGINT) is _defer


class _Section:
    """``with DEFER_INTERRUPTS:``: one module-level instance, no state of its own (sections
    only nest within the main thread, which the module's counters describe).

    Python runs a signal handler only after a call returns (or at a loop's jump back), so the
    counters are changed by plain statements between calls and each call is placed where a
    Ctrl-C landing right after it leaves them consistent.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        global _depth, _installed
        if _get_ident() != _main_ident:
            return
        _depth += 1
        if _depth > 1:
            return
        try:
            if _get_handler(_SIGINT) is _default:
                _set_handler(_SIGINT, _defer)  # from here (a Ctrl-C already pending too) it is held
                _installed = True
        except ValueError:  # not the main interpreter: nothing to protect with
            pass
        except BaseException:  # a Ctrl-C before the swap: no section was entered
            _depth -= 1
            raise

    def __exit__(
        self, et: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        global _depth, _installed, _pending
        if _get_ident() != _main_ident:
            return
        if _depth > 1 or not _installed:
            _depth -= 1
            return
        try:
            if _get_handler(_SIGINT) is _defer:  # (unless the app installed a handler meanwhile)
                _set_handler(_SIGINT, _default)  # a Ctrl-C arriving from here on is raised as usual
        finally:
            _depth = 0
            _installed = False
            pending, _pending = _pending, False
        if pending and (et is None or issubclass(et, Exception)):  # an interrupt unwinding wins
            raise KeyboardInterrupt


DEFER_INTERRUPTS = _Section()


def _after_fork_in_child() -> None:
    """The thread that forked is the child's main thread, and no section of the parent's runs."""
    global _main_ident, _depth, _installed, _pending
    _main_ident = threading.get_ident()
    _depth, _installed, _pending = 0, False, False
    if _get_handler(_SIGINT) is _defer:  # forked while the parent's main thread was in a section
        _set_handler(_SIGINT, _default)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

"""What the exporters `configure()` builds were given and delivered, and the exit flush.

The exit flush runs however the process ends: ``atexit`` for a normal exit, and in a
``multiprocessing`` child made by ``fork`` (which ends with ``os._exit``, skipping ``atexit``) as
one of multiprocessing's finalizers, which it runs before that: every fork child notes an
after-fork hook with multiprocessing, which registers the finalizer once the child's finalizer
registry has been reset.

Each exporter has a `Delivery`: spans (or metric points) exported, failed, being exported, still
queued, and the SDK exporter's log messages it did not show (nothing is counted per span). At
exit, every provider `configure()` built flushes at the same time as the others (traces and
metrics together), all within one ``flush_timeout``; what was not delivered by then is said in
one line, with the count and the endpoint. The SDK exporters log every retry; of those messages
only the first of each outage is shown (it is often the only sign of a problem) and the rest are
counted and summed up in that line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = [
    "Delivery",
    "deliveries",
    "flush_at_exit",
    "queue_length",
    "quiet_retries",
    "register_exit_flush",
]

logger = logging.getLogger("otelchain.tracing")


class Delivery:
    """One exporter's account of ``unit`` (spans, metric points): exported, failed, being
    exported now, and still queued (``queued``: the processor's queue length, read at exit);
    ``target`` says where they go (secrets masked). Nothing is counted per span."""

    def __init__(self, unit: str, target: str, queued: Callable[[], int] = lambda: 0) -> None:
        self.unit = unit
        self.target = target
        self.queued = queued
        self.exported = 0
        self.failed = 0
        self.in_flight = 0
        self.hidden = 0  # the exporter's log messages not shown (all but the first of an outage)
        self._outage = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def export(self, n: int) -> Iterator[list[bool]]:
        """Around one export of ``n``: ``with delivery.export(n) as ok: ...; ok.append(result)``;
        what the SDK logs meanwhile is attributed to this delivery (`quiet_retries`)."""
        outcome: list[bool] = []
        with self._lock:
            self.in_flight += n
        previous = getattr(_current, "delivery", None)
        _current.delivery = self
        try:
            yield outcome
        finally:
            _current.delivery = previous
            with self._lock:
                self.in_flight -= n
                if outcome and outcome[0]:
                    self.exported += n
                    self._outage = False  # the next failure is a new outage, shown again
                else:
                    self.failed += n

    @property
    def undelivered(self) -> int:
        """Still queued or being exported."""
        try:
            queued = self.queued()
        except Exception:  # an SDK whose queue otelchain cannot read (pinned by test_sdk_contract)
            queued = 0
        with self._lock:
            return queued + self.in_flight

    def message(self) -> bool:
        """An SDK exporter message during one of this exporter's exports: whether to show it."""
        with self._lock:
            if not self._outage:
                self._outage = True
                return True
            self.hidden += 1
            return False


_current = threading.local()  # the Delivery whose export this thread is running


def current_delivery() -> Delivery | None:
    return getattr(_current, "delivery", None)


class _RetryNoise(logging.Filter):
    """On the SDK exporters' loggers: while one of otelchain's exporters exports, only the first
    warning or error of an outage passes; the rest are counted on its `Delivery`."""

    def filter(self, record: logging.LogRecord) -> bool:
        delivery = current_delivery()
        if delivery is None or record.levelno < logging.WARNING:
            return True
        return delivery.message()


_noise = _RetryNoise()


def quiet_retries(exporter: object) -> None:
    """Sum up the retry messages of ``exporter``'s class (the loggers of the SDK modules it is
    made of); idempotent. Messages of exporters otelchain did not build pass untouched."""
    for cls in type(exporter).__mro__:
        if cls.__module__.startswith("opentelemetry.exporter."):
            sdk_logger = logging.getLogger(cls.__module__)
            if _noise not in sdk_logger.filters:
                sdk_logger.addFilter(_noise)


def queue_length(processor: BatchSpanProcessor) -> int:
    """Spans waiting in a BatchSpanProcessor's queue (the SDK has no public accessor; read only at
    exit; pinned by test_sdk_contract)."""
    return len(processor._batch_processor._queue)


# --- the exit flush -----------------------------------------------------------------------------


@dataclass(eq=False)
class _Flush:
    provider: object
    run: Callable[[float], object]  # flush and shut down, given the seconds it has
    timeout: float
    deliveries: list[Delivery]
    done: bool = field(default=False)


_flushes: list[_Flush] = []
_by_provider: weakref.WeakKeyDictionary[Any, list[Delivery]] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()
_hook_installed = False


def deliveries(provider: object) -> list[Delivery]:
    """The deliveries of the exporters configure() added to ``provider`` (a live list)."""
    with _registry_lock:
        return _by_provider.setdefault(provider, [])


def register_exit_flush(provider: object, run: Callable[[float], object], timeout: float) -> None:
    """Flush ``provider`` at exit with ``run(seconds)``, beside every other registered provider."""
    global _hook_installed
    found = deliveries(provider)
    with _registry_lock:
        _flushes.append(_Flush(provider, run, timeout, found))
        if not _hook_installed:
            _hook_installed = True
            atexit.register(flush_at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
    if _in_multiprocessing_child():  # configured inside a child already forked
        _finalize_here()


class _Mark:
    """What multiprocessing's after-fork registry keys the hook by (it holds it weakly)."""


_MARK = _Mark()
_finalized_in: int | None = None  # the process whose multiprocessing finalizer is registered


def _in_multiprocessing_child() -> bool:
    process = sys.modules.get("multiprocessing.process")
    return process is not None and process.parent_process() is not None


def _after_fork_in_child() -> None:
    """In a fork child: nothing of the parent's is being exported, no lock is held, and a
    multiprocessing child flushes at its exit."""
    global _registry_lock
    _registry_lock = threading.Lock()
    for flush in _flushes:
        for delivery in flush.deliveries:
            delivery._lock = threading.Lock()
            delivery.in_flight = 0
    util = sys.modules.get("multiprocessing.util")
    if util is not None:  # run by a multiprocessing child once its finalizer registry is reset
        util.register_after_fork(_MARK, _finalize_after_fork)


def _finalize_after_fork(_mark: object) -> None:
    _finalize_here()


def _finalize_here() -> None:
    global _finalized_in
    if _finalized_in == os.getpid():
        return
    _finalized_in = os.getpid()
    from multiprocessing import util

    util.Finalize(None, flush_at_exit, exitpriority=0)


def flush_at_exit(*providers: object, timeout: float | None = None) -> bool:
    """Flush and shut down the registered providers (all, or the ones given) at the same time,
    waiting at most the longest of their timeouts (``timeout`` overrides them) in total; then
    one line says what was dropped. Runs once per provider; whether every flush finished."""
    with _registry_lock:
        chosen = [f for f in _flushes if not f.done and (not providers or f.provider in providers)]
        for flush in chosen:
            flush.done = True
    if not chosen:
        return True
    seconds = timeout if timeout is not None else max(f.timeout for f in chosen)
    accounts = [d for f in chosen for d in f.deliveries]
    failed_before = [d.failed for d in accounts]
    started = time.monotonic()
    deadline = started + seconds
    workers = [_start(f, seconds) for f in chosen]
    for worker in workers:
        worker.join(max(deadline - time.monotonic(), 0.0))
    finished = not any(worker.is_alive() for worker in workers)
    lost = [
        (d, d.undelivered + d.failed - before, before)
        for d, before in zip(accounts, failed_before, strict=True)
    ]
    line = exit_line(seconds if not finished else time.monotonic() - started, finished, lost)
    if line:
        logger.warning("%s", line)
    return finished


def _start(flush: _Flush, seconds: float) -> threading.Thread:
    def run() -> None:
        try:
            flush.run(seconds)
        except Exception as error:
            logger.warning("otelchain: exit flush failed: %s: %s", type(error).__name__, error)

    worker = threading.Thread(target=run, name="otelchain-exit-flush", daemon=True)
    worker.start()
    return worker


def _n(count: int, plural: str) -> str:
    """``1 span``, ``2 spans``, ``1 more export message``."""
    return f"{count:,} {plural.removesuffix('s') if count == 1 else plural}"


def exit_line(seconds: float, finished: bool, lost: Sequence[tuple[Delivery, int, int]]) -> str | None:
    """``otelchain: exit flush stopped after 5.0s: 8 spans dropped for http://…/v1/traces (3 more
    export messages not shown)``, from (delivery, lost at exit, failed before exit) per exporter;
    None when nothing was lost at exit and no message was hidden."""
    parts = []
    for delivery, count, failed_before in lost:
        if count <= 0 and not delivery.hidden:
            continue
        notes = [f"{_n(delivery.hidden, 'more export messages')} not shown"] if delivery.hidden else []
        if failed_before:
            notes.append(f"{_n(failed_before, delivery.unit)} failed to export while the app ran")
        what = f"{_n(count, delivery.unit)} dropped" if count > 0 else "none left at exit"
        parts.append(f"{what} for {delivery.target}" + (f" ({'; '.join(notes)})" if notes else ""))
    if not parts:
        return None
    how = f"stopped after {seconds:.1f}s" if not finished else f"done in {seconds:.1f}s"
    return f"otelchain: exit flush {how}: " + "; ".join(parts)

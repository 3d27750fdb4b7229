"""Tracing health: what tracing lost or changed, counted, readable in code and logged.

Counts spans dropped by the batch queue, spans whose export failed, runs ended because the task
or thread that started them was gone, handler errors, values truncated and values sanitized.
:func:`health` returns them; the first problem is logged with the numbers at once, later growth
at most once per ``LOG_INTERVAL_S``. The counters are plain integers, so a metrics module can
report them as observable counters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from otelchain.callbacks._dispatch import add_error_listener, handler_error_counts

__all__ = ["LOG_INTERVAL_S", "TracingHealth", "count", "health", "reset_health"]

logger = logging.getLogger("otelchain.tracing")

LOG_INTERVAL_S = 60.0

_counts: dict[str, int] = {
    "spans_exported": 0,
    "spans_dropped": 0,
    "spans_export_failed": 0,
    "spans_interrupted": 0,
    "runs_abandoned": 0,
    "tracer_errors": 0,
    "values_truncated": 0,
    "values_sanitized": 0,
}
_lock = threading.Lock()
_clock: Callable[[], float] = time.monotonic
_last_log: float | None = None
_logged: dict[str, int] = {}


@dataclass(frozen=True)
class TracingHealth:
    """What tracing lost or changed since start (or :func:`reset_health`)."""

    spans_exported: int  # accepted by an exporter that otelchain's configure() set up
    spans_dropped: int  # dropped by a full batch queue (never exported)
    spans_export_failed: int  # handed to an exporter that failed (collector down, refused, ...)
    spans_interrupted: int  # a span's end was interrupted inside the SDK (e.g. Ctrl-C)
    runs_abandoned: int  # runs whose end never came, ended when the task or thread that started them was gone
    handler_errors: int  # callback handlers that raised (logged, survived), tracer hooks included
    values_truncated: int  # attribute values cut to ``max_attribute_length``
    values_sanitized: int  # values with invalid UTF-16 (lone surrogates) repaired

    @property
    def ok(self) -> bool:
        """True when no span was lost and no handler failed."""
        return not (
            self.spans_dropped or self.spans_export_failed or self.spans_interrupted or self.handler_errors
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def health() -> TracingHealth:
    """The current counts (cheap: read them as often as you like)."""
    with _lock:
        counts = dict(_counts)
    counts["handler_errors"] = sum(handler_error_counts().values()) + counts.pop("tracer_errors")
    return TracingHealth(**counts)


def reset_health() -> None:
    """Zero the counts (for tests and long-running apps that report deltas)."""
    global _last_log
    from otelchain.callbacks._dispatch import reset_handler_error_counts

    with _lock:
        for key in _counts:
            _counts[key] = 0
        _last_log = None
        _logged.clear()
    reset_handler_error_counts()


def count(name: str, n: int = 1) -> None:
    """Add ``n`` to one counter; log when the first problem shows up or the counts grew."""
    with _lock:
        _counts[name] += n
    if name != "spans_exported":
        _maybe_log()


def _maybe_log() -> None:
    """Log the counts if they grew since the last report and that was ``LOG_INTERVAL_S`` ago."""
    global _last_log
    now = _clock()
    last = _last_log
    if last is not None and now - last < LOG_INTERVAL_S:
        return
    current = health().as_dict()
    del current["spans_exported"]  # not a problem: shown only in health()
    with _lock:
        if _last_log is not last:  # another thread reported meanwhile
            return
        if all(v == _logged.get(k, 0) for k, v in current.items()):
            return
        _logged.update(current)
        _last_log = now
    lossy = ("spans_dropped", "spans_export_failed", "spans_interrupted", "handler_errors")
    level = logging.WARNING if any(current[k] for k in lossy) else logging.INFO
    logger.log(
        level,
        "otelchain tracing health: %s (otelchain.tracing.health(); reported again when they grow, "
        "at most every %ds)",
        ", ".join(f"{k}={v}" for k, v in current.items()),
        int(LOG_INTERVAL_S),
    )


add_error_listener(_maybe_log)  # handler errors are counted in callbacks; log them here too

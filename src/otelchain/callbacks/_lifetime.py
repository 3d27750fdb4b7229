"""Runs whose end never comes: each run belongs to the task or thread that started it, and is
ended when that task or thread is gone.

Frameworks start a run and then enter the ``try`` that ends it; a task cancelled in between
(langchain-core and LangGraph await ``on_chain_start`` outside their ``try``: a client that
disconnects in the first event-loop steps of a request) never sends the run's end or error
event. Neither does a start whose dispatch raised before the ``try``. So every run a
`RunTreeHandler` records is also noted under its *owner*, the asyncio task current at its start
(else the thread): ending the run removes the note, and when the task is done (cancelled,
failed or returned) or the thread has exited, the runs still noted are ended, innermost first,
with the cancellation recorded (`asyncio.CancelledError`, or `RunAbandonedError` when the task
or thread finished some other way) and their handler is told (`RunTreeHandler._on_run_abandoned`,
which the tracing handler counts in ``health()``).

A fork child starts with no runs: what the parent was running when it forked belongs to the
parent, which ends it; the child forgets it (ending it there would export its spans twice).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from otelchain.callbacks._runs import Run, RunTreeHandler

__all__ = ["Owner", "RunAbandonedError", "adopt", "release", "track_handler"]

logger = logging.getLogger("otelchain.callbacks")

_get_running_loop = asyncio.events._get_running_loop
_current_task = asyncio.current_task


class RunAbandonedError(Exception):
    """Recorded on a run whose task or thread finished without ending it (no end event came)."""

    __module__ = "otelchain.callbacks"  # its public name, as spans record it (``error.type``)


class Owner:
    """The runs one task or thread started that have not ended yet, with their handlers."""

    __slots__ = ("__weakref__", "pid", "runs")

    def __init__(self) -> None:
        self.runs: dict[Run, RunTreeHandler] = {}
        self.pid = os.getpid()


_tasks: dict[asyncio.Task[Any], Owner] = {}
_local = threading.local()
_handlers: weakref.WeakSet[RunTreeHandler] = weakref.WeakSet()


class _ThreadMark:
    """Held only by its thread's ``threading.local``: collected when the thread exits."""

    __slots__ = ("__weakref__",)


def track_handler(handler: RunTreeHandler) -> None:
    """Remember a run-tree handler (weakly), so a fork child can empty its run map."""
    _handlers.add(handler)


def adopt(handler: RunTreeHandler, run: Run) -> None:
    """Note ``run`` (just recorded by ``handler``) under the task or thread starting it."""
    loop = _get_running_loop()
    task = _current_task(loop) if loop is not None else None
    if task is not None:
        owner = _tasks.get(task)
        if owner is None:
            owner = _tasks[task] = Owner()
            task.add_done_callback(_task_done)
    else:
        owner = getattr(_local, "owner", None)
        if owner is None:
            owner = _thread_owner()
    owner.runs[run] = handler
    run.owner = owner


def release(run: Run) -> None:
    """``run`` ended: its owner forgets it."""
    owner: Owner | None = run.owner
    if owner is not None:
        run.owner = None
        owner.runs.pop(run, None)


def _thread_owner() -> Owner:
    owner = _local.owner = Owner()
    mark = _local.mark = _ThreadMark()
    weakref.finalize(mark, _thread_done, owner).atexit = False
    return owner


def _task_done(task: asyncio.Task[Any]) -> None:
    owner = _tasks.pop(task, None)
    if owner is not None and owner.runs:
        if task.cancelled():
            error: BaseException = asyncio.CancelledError(
                "cancelled before its end: the task that started this run was cancelled"
            )
        else:
            error = RunAbandonedError("the task that started this run finished without ending it")
        _sweep(owner, error)


def _thread_done(owner: Owner) -> None:
    if owner.runs:
        _sweep(owner, RunAbandonedError("the thread that started this run exited without ending it"))


def _sweep(owner: Owner, error: BaseException) -> None:
    """End the owner's runs still open, innermost (latest started) first."""
    if owner.pid != os.getpid():  # a fork child: these runs are the parent's
        owner.runs.clear()
        return
    while owner.runs:
        run, handler = owner.runs.popitem()
        run.owner = None
        try:
            handler._abandon(run, error)
        except Exception as failure:  # a handler's failure must not stop the others' ends
            logger.warning("otelchain: ending an abandoned run failed: %s", type(failure).__name__)


def _forget_in_child() -> None:
    """After ``fork()``, in the child: every run map starts empty."""
    for owner in list(_tasks.values()):
        owner.runs.clear()
    _tasks.clear()
    mine: Owner | None = getattr(_local, "owner", None)
    if mine is not None:
        mine.runs.clear()
    for handler in list(_handlers):
        for run in handler.runs.values():
            run.owner = None
        handler.runs.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)

"""Runs whose end never comes: each run belongs to the code that started it, and is ended when
that code is gone.

Frameworks start a run and then enter the ``try`` that ends it; a task cancelled in between
(langchain-core and LangGraph await ``on_chain_start`` outside their ``try``: a client that
disconnects in the first event-loop steps of a request) never sends the run's end or error
event. Neither does a start whose dispatch raised before the ``try``. So every run a
`RunTreeHandler` records is noted under its *owner*:

- A run started by a coroutine or a plain function belongs to the asyncio task running it (else
  to the thread): once the task is done or the thread has exited, that frame has returned or
  raised, and the run's end can no longer come. The main thread outside an event loop outlives
  every run it starts (nothing would ever find its runs abandoned), so those are not noted at
  all: no owner, no look at the frames that started them.
- A run started inside a generator (a stream: langchain-core's ``astream``, LangGraph's
  ``Pregel.astream``) lives as long as the generator, which may be resumed by another task
  (langchain-core runs each step of a stream in a task of its own). When its task is cancelled it
  ends with the task (the cancellation was thrown into the generator, or its consumer is gone);
  otherwise it is kept while the generator's frame is alive and ended once the generator has
  finished or been collected without ending it (checked when a task or thread finishes, and
  every 256 run ends).
- A run whose start was dispatched by a task that does nothing else (langchain-core's ``abatch``
  gathers its starts, each in a task of its own) is started for the code awaiting that task: when
  the task is cancelled it ends with it; otherwise it goes to the owner of its parent run.

Ending the run removes the note. An abandoned run ends, innermost first, with the cancellation
recorded (`asyncio.CancelledError`, or `RunAbandonedError` when its task, thread or generator
finished some other way) and its handler is told (`RunTreeHandler._on_run_abandoned`, which the
tracing handler counts in ``health()``).

A fork child starts with no runs: what the parent was running when it forked belongs to the
parent, which ends it; the child forgets it (ending it there would export its spans twice).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import sys
import threading
import weakref
from types import CodeType, FrameType
from typing import Any, Protocol

__all__ = [
    "OwnedRun",
    "Owner",
    "RunAbandonedError",
    "RunTree",
    "adopt",
    "dispatches",
    "release",
    "track_handler",
]


class OwnedRun(Protocol):
    """A run as its owner sees it (`otelchain.callbacks._runs.Run` is one)."""

    owner: Any  # its `Owner` while open

    @property
    def parent(self) -> OwnedRun | None: ...


class RunTree(Protocol):
    """A handler that keeps runs (`RunTreeHandler` is one): its open runs by id, and how it
    ends one whose owner is gone."""

    @property
    def runs(self) -> dict[Any, Any]: ...

    def _abandon(self, run: Any, error: BaseException) -> None: ...


logger = logging.getLogger("otelchain.callbacks")

_get_running_loop = asyncio.events._get_running_loop
_current_task = asyncio.current_task


class RunAbandonedError(Exception):
    """Recorded on a run whose task, thread or generator finished without ending it."""

    __module__ = "otelchain.callbacks"  # its public name, as spans record it (``error.type``)


class Owner:
    """The runs one task or thread started that have not ended yet, with their handlers; the
    frames of the generators that started some of them, and those it only dispatched."""

    __slots__ = ("__weakref__", "dispatched", "frames", "pid", "runs")

    def __init__(self) -> None:
        self.runs: dict[OwnedRun, RunTree] = {}
        self.frames: dict[OwnedRun, FrameType] = {}
        self.dispatched: set[OwnedRun] = set()
        self.pid = os.getpid()


_tasks: dict[asyncio.Task[Any], Owner] = {}
_local = threading.local()
_handlers: weakref.WeakSet[RunTree] = weakref.WeakSet()
# Generator-started runs whose task or thread has finished while the generator was alive.
_parked = Owner()
_parked_lock = threading.Lock()
_ends = 0  # run ends, to look at the parked runs every so often


class _ThreadMark:
    """Held only by its thread's ``threading.local``: collected when the thread exits."""

    __slots__ = ("__weakref__",)


def track_handler(handler: RunTree) -> None:
    """Remember a run-tree handler (weakly), so a fork child can empty its run map."""
    _handlers.add(handler)


# --- which code started a run ------------------------------------------------------------------
# Walking out from the handler: frames of the callback machinery (otelchain's run envelope
# included: ``async with Envelope(...)`` in a stream) are passed; the first other frame started
# the run. Decided once per code object.
_MACHINERY = (
    "otelchain.callbacks.",
    "otelchain.tracing.",
    "otelchain._component",
    "langchain_core.callbacks.",
)
# Where a task's or a thread's own code begins: the event loop or the thread's bootstrap.
_BOUNDARY = ("asyncio.", "threading", "concurrent.futures.")
_PASS, _PLAIN, _GENERATOR, _TOP = 0, 1, 2, 3
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR
# Keyed by the code object's id (hashing a code object hashes its bytecode and constants); the
# code objects are kept, so an id is never reused while its entry stands.
_kinds: dict[int, int] = {}
_codes: list[CodeType] = []
_MAX_WALK = 32


def _kind(frame: FrameType) -> int:
    code = frame.f_code
    module = frame.f_globals.get("__name__")
    if isinstance(module, str) and module.startswith(_MACHINERY):
        kind = _PASS
    elif isinstance(module, str) and module.startswith(_BOUNDARY):
        kind = _TOP
    else:
        kind = _GENERATOR if code.co_flags & _GENERATOR_FLAGS else _PLAIN
    if len(_kinds) < 4096:
        _codes.append(code)
        _kinds[id(code)] = kind
    return kind


def dispatches(*functions: Any) -> None:
    """Count these functions (wrappers around a framework's event dispatch) as callback
    machinery: the walk that finds which code started a run passes their frames."""
    for function in functions:
        code = function.__code__
        if id(code) not in _kinds:
            _codes.append(code)
            _kinds[id(code)] = _PASS


_DISPATCH_ONLY = object()  # no frame but the callback machinery's: a task that only dispatches


def _origin() -> Any:
    """What started the run being recorded: the frame of a generator, `_DISPATCH_ONLY`, or
    None when a coroutine or function of the current task or thread started it."""
    frame: FrameType | None = sys._getframe(3)  # past adopt(), RunTreeHandler._start and on_*_start
    for _ in range(_MAX_WALK):
        if frame is None:
            return _DISPATCH_ONLY
        kind = _kinds.get(id(frame.f_code))
        if kind is None:
            kind = _kind(frame)
        if kind == _PLAIN:
            return None
        if kind == _GENERATOR:
            return frame
        if kind == _TOP:
            return _DISPATCH_ONLY
        frame = frame.f_back
    return None


def _calibrate() -> int:
    """References to a finished generator's frame that `_generator_alive` sees (our own)."""

    def finished() -> Any:
        yield None

    generator = finished()
    next(generator)
    frames = {0: generator.gi_frame}
    generator.close()
    return sys.getrefcount(frames[0])


_getrefcount = getattr(sys, "getrefcount", None)
_FINISHED_REFS = _calibrate() if _getrefcount is not None else 0


def _generator_alive(frames: dict[OwnedRun, FrameType], run: OwnedRun) -> bool:
    """Whether the generator that started ``run`` may still resume: a live generator holds a
    reference to its frame; one that finished, or was collected, holds none."""
    if _getrefcount is None:  # not CPython: assume it may
        return True
    return bool(_getrefcount(frames[run]) > _FINISHED_REFS)


# --- noting and forgetting ---------------------------------------------------------------------
def adopt(handler: RunTree, run: OwnedRun) -> None:
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
        if owner is _MAIN_THREAD:
            return
    owner.runs[run] = handler
    origin = _origin()
    if origin is _DISPATCH_ONLY:
        owner.dispatched.add(run)
    elif origin is not None:
        owner.frames[run] = origin
    run.owner = owner


def release(run: OwnedRun) -> None:
    """``run`` ended: its owner forgets it."""
    global _ends
    owner: Owner | None = run.owner
    if owner is not None:
        run.owner = None
        owner.runs.pop(run, None)
        if owner.frames:
            owner.frames.pop(run, None)
        if owner.dispatched:
            owner.dispatched.discard(run)
    _ends += 1
    if not _ends & 255 and _parked.runs:
        _end_finished_generators()


# The main thread's owner: it never finishes before the process does, so it holds no runs.
_MAIN_THREAD = Owner()


def _thread_owner() -> Owner:
    if threading.current_thread() is threading.main_thread():
        owner = _local.owner = _MAIN_THREAD
        return owner
    owner = _local.owner = Owner()
    mark = _local.mark = _ThreadMark()
    weakref.finalize(mark, _thread_done, owner).atexit = False
    return owner


# --- ending what is gone -------------------------------------------------------------------------
def _task_done(task: asyncio.Task[Any]) -> None:
    owner = _tasks.pop(task, None)
    if owner is not None and owner.runs:
        if task.cancelled():
            error: BaseException = asyncio.CancelledError(
                "cancelled before its end: the task that started this run was cancelled"
            )
            _finish(owner, error, keep_live_generators=False)
        else:
            error = RunAbandonedError("the task that started this run finished without ending it")
            _finish(owner, error, keep_live_generators=True)
    if _parked.runs:
        _end_finished_generators()


def _thread_done(owner: Owner) -> None:
    if owner.runs:
        error = RunAbandonedError("the thread that started this run exited without ending it")
        _finish(owner, error, keep_live_generators=True)
    if _parked.runs:
        _end_finished_generators()


def _finish(owner: Owner, error: BaseException, *, keep_live_generators: bool) -> None:
    """The owner is gone: end its runs still open, innermost (latest started) first; those a
    live generator started are parked instead (when ``keep_live_generators``)."""
    if owner.pid != os.getpid():  # a fork child: these runs are the parent's
        owner.runs.clear()
        owner.frames.clear()
        owner.dispatched.clear()
        return
    while owner.runs:
        run, handler = owner.runs.popitem()
        if run in owner.dispatched:
            owner.dispatched.discard(run)
            if keep_live_generators:  # (not cancelled) the code that awaited the task has it
                _hand_to_parent(run, handler)
                continue
        elif run in owner.frames:
            alive = keep_live_generators and _generator_alive(owner.frames, run)
            frame = owner.frames.pop(run)
            if alive:
                with _parked_lock:
                    _parked.runs[run] = handler
                    _parked.frames[run] = frame
                run.owner = _parked
                continue
        run.owner = None
        _abandon(handler, run, error)


def _hand_to_parent(run: OwnedRun, handler: RunTree) -> None:
    """A run dispatched by a task now done: the owner of its parent run owns it (if any)."""
    parent = run.parent
    owner: Owner | None = parent.owner if parent is not None else None
    if owner is None or owner is _parked or owner.pid != os.getpid():
        run.owner = None  # no owner left to tell when its end would never come
        return
    owner.runs[run] = handler
    run.owner = owner


def _end_finished_generators() -> None:
    """End the parked runs whose generator has finished or been collected."""
    with _parked_lock:
        gone = [run for run in _parked.runs if not _generator_alive(_parked.frames, run)]
        ended = [(run, _parked.runs.pop(run)) for run in gone]
        for run in gone:
            del _parked.frames[run]
            run.owner = None
    for run, handler in reversed(ended):
        _abandon(
            handler, run, RunAbandonedError("the stream that started this run finished without ending it")
        )


def _abandon(handler: RunTree, run: OwnedRun, error: BaseException) -> None:
    try:
        handler._abandon(run, error)
    except Exception as failure:  # a handler's failure must not stop the others' ends
        logger.warning("otelchain: ending an abandoned run failed: %s", type(failure).__name__)


def _forget_in_child() -> None:
    """After ``fork()``, in the child: every run map starts empty."""
    for owner in [*_tasks.values(), _parked, getattr(_local, "owner", None)]:
        if owner is not None:
            owner.runs.clear()
            owner.frames.clear()
            owner.dispatched.clear()
    _tasks.clear()
    for handler in list(_handlers):
        for run in handler.runs.values():
            run.owner = None
        handler.runs.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)

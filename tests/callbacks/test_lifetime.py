"""A run belongs to the task or thread that started it; when that is gone with the run still
open, the run is ended (`otelchain.callbacks._lifetime`). Real tasks and threads, a bare
`RunTreeHandler`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from uuid import UUID, uuid4

from otelchain.callbacks import RunAbandonedError, _lifetime
from otelchain.callbacks._runs import Run, RunTreeHandler


class Ends(RunTreeHandler):
    """A run-tree handler that notes how each run ended (and which ones were abandoned)."""

    def __init__(self) -> None:
        super().__init__()
        self.ended: dict[str, BaseException | None] = {}
        self.abandoned: list[str] = []

    def _on_run_end(self, run: Run) -> None:
        self.ended[run.name] = run.error

    def _on_run_abandoned(self, run: Run) -> None:
        self.abandoned.append(run.name)


def start(handler: RunTreeHandler, name: str, parent: UUID | None = None) -> UUID:
    run_id = uuid4()
    handler.on_chain_start({"name": name}, {}, run_id=run_id, parent_run_id=parent)
    return run_id


async def test_a_cancelled_tasks_open_runs_end_with_the_cancellation() -> None:
    handler = Ends()
    started = asyncio.Event()

    async def work() -> None:
        start(handler, "outer")
        start(handler, "inner", parent=next(iter(handler.runs)))
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(work())
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert handler.runs == {}
    assert list(handler.ended) == ["inner", "outer"]  # innermost first
    assert all(isinstance(e, asyncio.CancelledError) for e in handler.ended.values())
    assert handler.abandoned == ["inner", "outer"]


async def test_a_task_that_returns_with_a_run_open_ends_it_as_abandoned() -> None:
    """As a task whose cancellation a framework absorbed (anyio's task groups) would."""
    handler = Ends()

    async def work() -> None:
        start(handler, "left open")

    await asyncio.create_task(work())  # (this test was waiting first: it resumes first)
    await asyncio.sleep(0)  # one step of the loop: the task's own done callbacks have run
    assert handler.runs == {}
    assert isinstance(handler.ended["left open"], RunAbandonedError)


async def test_a_child_tasks_runs_wait_for_the_child() -> None:
    """The parent's task is done; the run its child task started is the child's to end."""
    handler = Ends()
    release = asyncio.Event()

    async def child(parent: UUID) -> None:
        run_id = start(handler, "child", parent=parent)
        await release.wait()
        handler.on_chain_end({}, run_id=run_id)

    async def parent() -> asyncio.Task[None]:
        return asyncio.create_task(child(start(handler, "parent")))

    child_task = await asyncio.create_task(parent())
    await asyncio.sleep(0)  # the child starts its run
    assert list(handler.ended) == ["parent"] and "child" not in handler.ended
    release.set()
    await child_task
    assert handler.ended["child"] is None and handler.runs == {}  # ended normally


async def test_runs_that_end_are_forgotten_by_their_task() -> None:
    """A long-lived task running many runs holds none of them once they ended."""
    handler = Ends()
    for _ in range(1000):
        handler.on_chain_end({}, run_id=start(handler, "short"))
    owner = _lifetime._tasks[asyncio.current_task()]  # type: ignore[index]
    assert owner.runs == {} and handler.runs == {}


def test_a_thread_that_exits_with_a_run_open_ends_it() -> None:
    handler = Ends()
    thread = threading.Thread(target=start, args=(handler, "in a thread"))
    thread.start()
    thread.join()  # the thread's state is cleared before join returns
    assert handler.runs == {}
    assert isinstance(handler.ended["in a thread"], RunAbandonedError)


def test_a_run_ended_before_its_thread_exits_is_not_ended_again() -> None:
    handler = Ends()
    ends: list[Any] = []

    def work() -> None:
        handler.on_chain_end({}, run_id=start(handler, "done"))
        ends.append(dict(handler.ended))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert ends == [{"done": None}] and handler.ended == {"done": None} and handler.abandoned == []

"""A run belongs to the task or thread that started it; when that is gone with the run still
open, the run is ended (`otelchain.callbacks._lifetime`). Real tasks and threads, a bare
`RunTreeHandler`."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any
from uuid import UUID, uuid4

from otelchain.callbacks import AsyncCallbackManager, RunAbandonedError, _lifetime
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


async def test_a_stream_resumed_by_other_tasks_keeps_its_run_until_it_ends() -> None:
    """A run started inside a generator lives as long as the generator: langchain-core resumes
    a stream's generator in a new task for every step, and each of those tasks finishes while
    the run goes on."""
    handler = Ends()

    async def stream() -> Any:
        run_id = uuid4()
        handler.on_chain_start({"name": "stream"}, {}, run_id=run_id)  # started by the generator itself
        yield 1
        yield 2
        handler.on_chain_end({}, run_id=run_id)

    generator = stream()
    for _ in range(2):  # each step in a task of its own, which finishes
        await asyncio.create_task(generator.__anext__())  # type: ignore[arg-type]
        await asyncio.sleep(0)  # (the step task's done callbacks have run)
        assert next(iter(handler.runs.values())).name == "stream" and handler.ended == {}
    with contextlib.suppress(StopAsyncIteration):
        await asyncio.create_task(generator.__anext__())  # type: ignore[arg-type]
    assert handler.ended == {"stream": None} and handler.abandoned == []


async def test_a_stream_that_dies_without_its_end_is_ended_once_it_is_gone() -> None:
    """The generator raised before the code that ends its run (as a cancellation absorbed by a
    task group would): its run ends when the task that ran it finishes."""
    handler = Ends()

    async def stream() -> Any:
        handler.on_chain_start({"name": "dies"}, {}, run_id=uuid4())
        raise RuntimeError("before the try that would end the run")
        yield 1  # (an async generator)

    async def consume() -> None:
        with contextlib.suppress(RuntimeError):
            await stream().__anext__()

    await asyncio.create_task(consume())
    await asyncio.sleep(0)
    assert handler.runs == {} and isinstance(handler.ended["dies"], RunAbandonedError)


async def test_runs_whose_start_a_task_only_dispatched_belong_to_the_code_awaiting_it() -> None:
    """langchain-core's abatch gathers its runs' starts, each in a task of its own, then runs
    them from the caller's task: they are not abandoned when those tasks finish, and go to the
    owner of their parent run."""
    handler = Ends()
    parent = start(handler, "caller")
    manager = AsyncCallbackManager([handler], parent_run_id=parent)
    starts = (manager.on_chain_start({"name": f"item {i}"}, {}) for i in range(3))
    run_managers = await asyncio.gather(*starts)  # each start dispatched in a task of its own
    await asyncio.sleep(0)
    assert handler.ended == {} and len(handler.runs) == 4
    for rm in run_managers:
        await rm.on_chain_end({})
    assert handler.abandoned == [] and len(handler.ended) == 3
    owner = _lifetime._tasks[asyncio.current_task()]  # type: ignore[index]
    assert list(owner.runs) == [handler.runs[parent]]  # the items were handed to it, and ended
    handler.on_chain_end({}, run_id=parent)


def test_the_main_thread_outside_a_loop_notes_no_owner_a_worker_thread_does() -> None:
    # The main thread outlives its runs: nothing would ever find them abandoned, so they are
    # not noted (no owner, no look at the frames that started them); a worker thread's are.
    handler = Ends()
    assert threading.current_thread() is threading.main_thread()
    main_run = handler.runs[start(handler, "main")]
    owners: list[Any] = []

    def work() -> None:
        owners.append(handler.runs[start(handler, "worker")].owner)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert main_run.owner is None and not _lifetime._MAIN_THREAD.runs
    assert isinstance(owners[0], _lifetime.Owner) and owners[0] is not _lifetime._MAIN_THREAD
    assert isinstance(handler.ended["worker"], RunAbandonedError)
    handler.on_chain_end({}, run_id=main_run.run_id)
    assert handler.ended["main"] is None and handler.runs == {}

"""Cancellation at every await point, including inside slow async handlers, and early
cancellation of LangGraph graphs and langchain-core sequences: every span that started ends and
no run is left (issue 11, break 2; issue 21)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, TypedDict

import pytest
from langchain_core.callbacks import AsyncCallbackHandler as LCAsyncCallbackHandler
from langchain_core.callbacks import BaseCallbackHandler as LCBaseCallbackHandler
from langchain_core.runnables import RunnableLambda

from otelchain.callbacks import AsyncCallbackHandler
from tests.helpers import PIPELINE_EVENTS, Pipeline, Traced
from tests.helpers import graphs as G


class Stuck(AsyncCallbackHandler):
    """An async handler that hangs in one event until cancelled (says when it got there)."""

    def __init__(self, event: str, inline: bool) -> None:
        self.event = event
        self.run_inline = inline
        self.entered = asyncio.Event()

    async def _maybe_hang(self, event: str) -> None:
        if event == self.event:
            self.entered.set()
            await asyncio.Event().wait()

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_") and name in PIPELINE_EVENTS:
            hang = object.__getattribute__(self, "_maybe_hang")

            async def method(*args: Any, **kwargs: Any) -> None:
                await hang(name)

            return method
        return object.__getattribute__(self, name)


@pytest.mark.parametrize("event", PIPELINE_EVENTS)
@pytest.mark.parametrize("inline", [True, False])
@pytest.mark.parametrize("position", ["before", "after"])
async def test_cancel_while_a_handler_handles_an_event(
    app: Traced, event: str, inline: bool, position: str
) -> None:
    """Before the fix, a task cancelled while a non-inline handler handled a start event left
    the tracer's span open and its run in the map."""
    for _ in range(2):
        stuck = Stuck(event, inline)
        handlers = [stuck, app.handler] if position == "before" else [app.handler, stuck]
        task = asyncio.create_task(Pipeline().acall({"x": "q"}, handlers))
        await stuck.entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    app.assert_clean()
    if event.endswith("_start"):  # the cancelled run failed (an end event reached every handler)
        assert any(s.status.status_code.name == "ERROR" for s in app.spans)


@pytest.mark.parametrize("event", PIPELINE_EVENTS)
async def test_wait_for_timeout_inside_a_slow_handler(app: Traced, event: str) -> None:
    """The shape of the report: ``asyncio.wait_for`` times out while a handler is still busy."""
    stuck = Stuck(event, inline=False)

    async def call() -> Any:
        return await Pipeline().acall({"x": "q"}, [app.handler, stuck])

    async def timeout_once_stuck() -> None:
        task = asyncio.ensure_future(call())
        await stuck.entered.wait()
        await asyncio.wait_for(task, timeout=0)

    with pytest.raises((asyncio.TimeoutError, asyncio.CancelledError)):
        await timeout_once_stuck()
    app.assert_clean()


async def test_cancel_at_every_await_of_the_app(app: Traced) -> None:
    """Cancel after the k-th step of the event loop, for every k until the call completes."""
    k = 0
    while True:
        task = asyncio.create_task(Pipeline().acall({"x": "q"}, [app.handler]))
        for _ in range(k):
            await asyncio.sleep(0)
        if task.done():
            assert (await task)["y"] == "echo abc"
            break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.assert_clean()
        k += 1
    app.assert_clean()
    assert k >= 1


# --- early cancellation of frameworks that start a run outside their own try ---------------------
# langchain-core and LangGraph await ``on_chain_start`` before entering the try that ends the run:
# a task cancelled in its first event-loop steps (a client that disconnects right after a
# streaming request starts) sends no end or error event. The run belongs to the task that started
# it, and is ended (the cancellation recorded) when that task is done.


class QuietAsyncHandler(LCAsyncCallbackHandler):
    """Any async callback handler: with one present, langchain-core awaits between handlers."""

    async def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        return None


class State(TypedDict):
    n: int


async def _step(state: State) -> State:
    await asyncio.sleep(0)
    return {"n": state["n"] + 1}


def _graph() -> Any:
    return G.linear(State, ("first", _step), ("second", _step)).compile()


@pytest.mark.parametrize(
    "how",
    [
        "graph astream_events",
        "graph ainvoke",
        "RunnableSequence ainvoke",
        "graph astream, cancellation absorbed",  # as a task group's task (anyio, Starlette)
    ],
)
async def test_a_thousand_early_cancellations_leave_no_span_open_and_no_run_held(
    app: Traced, how: str
) -> None:
    """Before the fix: 1,000 cancellations left 1,000 spans open (600 with ainvoke) and as many runs
    in the handler's map, and ``health()`` said nothing."""
    from otelchain.tracing import health, reset_health

    reset_health()
    graph = _graph()
    sequence = RunnableLambda(lambda n: n + 1) | RunnableLambda(lambda n: n * 2)
    quiet = QuietAsyncHandler()

    async def consume_events() -> None:
        async for _ in graph.astream_events({"n": 0}, version="v2", config={"callbacks": [app.handler]}):
            pass

    async def consume_absorbing() -> None:
        try:
            async for _ in graph.astream({"n": 0}, config={"callbacks": [app.handler, quiet]}):
                pass
        except asyncio.CancelledError:  # the task returns: only the stream knows it was cut
            pass

    def start() -> Any:
        if how == "graph astream_events":
            return consume_events()
        if how.startswith("graph astream,"):
            return consume_absorbing()
        runnable = graph if how == "graph ainvoke" else sequence
        return runnable.ainvoke(
            {"n": 0} if runnable is graph else 0, config={"callbacks": [app.handler, quiet]}
        )

    for i in range(1000):
        task = asyncio.create_task(start())
        for _ in range(1 + i % 4):  # cancelled after 1 to 4 steps of the event loop
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    app.assert_clean()
    abandoned = health().runs_abandoned
    failed = [s for s in app.spans if s.status.status_code.name == "ERROR"]
    # Most cancellations land in an event's dispatch, before the framework's try: the run whose
    # start was cut ends there with the cancellation; one left open ends with its task.
    assert len(failed) >= 500, len(failed)
    assert len(failed) >= abandoned
    recorded = {s.events[0].attributes["exception.type"] for s in failed}  # type: ignore[index]
    absorbed = how.endswith("absorbed")  # the task returned: the stream was abandoned
    assert recorded <= {
        "otelchain.callbacks.RunAbandonedError" if absorbed else "",
        "asyncio.exceptions.CancelledError",
    }
    reset_health()


def test_a_start_a_handler_refused_ends_with_the_refusal(app: Traced) -> None:
    """A start refused by a ``raise_error`` handler after otelchain's raises before
    langchain-core's try, so no end event ever comes: the run ends at once with the refusal."""
    from otelchain.tracing import health, reset_health

    reset_health()

    class Refuses(LCBaseCallbackHandler):
        raise_error = True

        def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("start refused")

    def work() -> None:
        with pytest.raises(RuntimeError):
            RunnableLambda(lambda n: n).invoke(1, config={"callbacks": [app.handler, Refuses()]})
        assert app.handler.runs == {}  # ended in the thread, before it exits

    _ends_in_a_thread(app, work, "RuntimeError")
    assert health().runs_abandoned == 0
    reset_health()


def test_a_run_whose_thread_exits_without_its_end_is_ended(app: Traced) -> None:
    """A run whose end event never comes (its code started it and stopped): it is ended when the
    thread that started it exits."""
    from uuid import uuid4

    from otelchain.tracing import health, reset_health

    reset_health()

    def work() -> None:
        app.handler.on_chain_start({"name": "left open"}, {}, run_id=uuid4())
        assert len(app.handler.runs) == 1  # its end never comes

    _ends_in_a_thread(app, work, "otelchain.callbacks.RunAbandonedError")
    assert health().runs_abandoned == 1
    reset_health()


def _ends_in_a_thread(app: Traced, work: Any, exception_type: str) -> None:
    """Run ``work`` in a thread of its own; then its one span has ended, failed with
    ``exception_type``."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    app.assert_clean()
    (span,) = app.spans
    assert span.status.status_code.name == "ERROR"
    assert span.events[0].attributes["exception.type"] == exception_type  # type: ignore[index]


async def test_a_stream_whose_steps_run_in_tasks_of_their_own_is_not_taken_for_abandoned(app: Traced) -> None:
    """langchain-core resumes a stream's generator in a new task for every step: the model's
    run, started in the first of them, goes on after that task finished (no false ends)."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.prompts import ChatPromptTemplate

    from otelchain.tracing import health, reset_health

    reset_health()
    model = GenericFakeChatModel(messages=iter([AIMessage(content="a b c d")] * 20))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model

    async def consume(i: int) -> str:
        chunks = [str(c.content) async for c in chain.astream({"q": i}, config={"callbacks": [app.handler]})]
        return "".join(chunks)

    assert await asyncio.gather(*(consume(i) for i in range(20))) == ["a b c d"] * 20
    app.assert_clean()
    assert health().runs_abandoned == 0
    assert not [s.name for s in app.spans if s.status.status_code.name == "ERROR"]
    assert len(app.spans) == 60  # sequence, prompt, model: 20 times
    reset_health()

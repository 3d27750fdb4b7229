"""Cancellation at every await point, including inside slow async handlers: every span that
started ends and no run is left (issue 11, break 2)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from otelchain.callbacks import AsyncCallbackHandler
from tests.helpers import PIPELINE_EVENTS, Pipeline, Traced


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

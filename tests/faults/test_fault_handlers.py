"""Handlers raising everywhere, with and without ``raise_error``: every span that starts ends
and no run state is left (issue 11, break 1)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from otelchain.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from tests.helpers import PIPELINE_EVENTS, Pipeline, Recorder, Traced


class Failure(Exception):
    """What the faulty handler raises."""


def _raiser(event: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> None:
        raise Failure(event)

    return method


def _araiser(event: str) -> Any:
    async def method(self: Any, *args: Any, **kwargs: Any) -> None:
        raise Failure(event)

    return method


def faulty(event: str, raise_error: bool, is_async: bool = False) -> Any:
    """A handler that raises in ``event`` only."""
    base: type = AsyncCallbackHandler if is_async else BaseCallbackHandler
    make = _araiser if is_async else _raiser
    cls = type("Faulty", (base,), {event: make(event), "raise_error": raise_error})
    return cls()


@pytest.mark.parametrize("event", PIPELINE_EVENTS)
@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("raise_error", [True, False])
def test_a_raising_handler_never_leaves_a_span_open(
    app: Traced, event: str, position: str, raise_error: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Before the fix, a raise_error handler raising in a start event after the tracer, or in an
    end event before it, left the tracer's span open and its run in the run map."""
    caplog.set_level(logging.CRITICAL, "otelchain.callbacks")
    bad, rec = faulty(event, raise_error), Recorder()
    handlers = [bad, app.handler, rec] if position == "before" else [app.handler, rec, bad]
    for _ in range(3):
        if raise_error:
            with pytest.raises(Failure):
                Pipeline().call({"x": "q"}, handlers)
        else:
            assert Pipeline().call({"x": "q"}, handlers)["y"] == "echo abc"
    app.assert_clean()
    if not raise_error:
        assert app.tally.started == 9  # chain, model and tool, three times
    # the recorder saw an end or an error for every start
    starts = [e for e in rec.names if e.endswith("_start")]
    ends = [e for e in rec.names if e.endswith(("_end", "_error"))]
    assert len(starts) == len(ends)


@pytest.mark.parametrize("event", PIPELINE_EVENTS)
@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("inline", [True, False])
async def test_a_raising_async_handler_never_leaves_a_span_open(
    app: Traced, event: str, position: str, inline: bool
) -> None:
    bad = faulty(event, raise_error=True, is_async=True)
    bad.run_inline = inline
    handlers = [bad, app.handler] if position == "before" else [app.handler, bad]
    for _ in range(3):
        with pytest.raises(Failure):
            await Pipeline().acall({"x": "q"}, handlers)
    app.assert_clean()


def test_every_handler_gets_the_event_a_raise_error_handler_raised_in(app: Traced) -> None:
    bad, rec = faulty("on_chain_start", raise_error=True), Recorder()
    with pytest.raises(Failure):
        Pipeline().call({"x": "q"}, [bad, rec, app.handler])
    # the start reached every handler, and so did the run's failure
    assert rec.names == ["on_chain_start", "on_chain_error"]
    assert isinstance(rec.events[1].payload, Failure)
    (span,) = app.spans
    assert span.status.status_code.name == "ERROR"
    app.assert_clean()


def test_a_failed_start_in_a_batch_ends_the_runs_already_started(app: Traced) -> None:
    class SecondFails(BaseCallbackHandler):
        raise_error = True
        seen = 0

        def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
            self.seen += 1
            if self.seen == 2:
                raise Failure("second")

    from otelchain.llms import FakeListLLM

    with pytest.raises(Failure):
        FakeListLLM(["x"]).generate(["a", "b", "c"], callbacks=[app.handler, SecondFails()])
    assert len(app.spans) == 2
    assert all(s.status.status_code.name == "ERROR" for s in app.spans)
    app.assert_clean()

"""A handler with ``raise_error`` that raises stops langchain-core's delivery of that event: the
handlers after it would never see the run's end (its span left open) or would see a start whose
run never runs. otelchain's handlers still get the end, so every span ends with the status of what
ran, and no run is left behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableLambda

from otelchain.tracing import OpenTelemetryCallbackHandler
from tests.helpers import Traced


def _guard(event: str, root: bool) -> BaseCallbackHandler:
    """A handler that vetoes ``event`` of the root run (or of its children)."""

    class Guard(BaseCallbackHandler):
        raise_error = True
        run_inline = True

    def veto(self: Any, *args: Any, **kwargs: Any) -> None:
        if (kwargs.get("parent_run_id") is None) == root:
            raise RuntimeError("vetoed")

    setattr(Guard, event, veto)
    return Guard()


def _statuses(lg: Traced) -> list[tuple[str, str]]:
    return sorted((s.name, s.status.status_code.name) for s in lg.spans)


SEQ = "invoke_workflow RunnableSequence"
# event vetoed, of the root or a child → the spans and statuses recorded (UNSET: what ran ran)
CASES = [
    ("on_chain_end", True, [("a", "UNSET"), ("b", "UNSET"), (SEQ, "UNSET")]),
    ("on_chain_end", False, [("a", "UNSET"), (SEQ, "ERROR")]),  # the veto fails the sequence
    ("on_chain_start", True, [(SEQ, "ERROR")]),
    ("on_chain_start", False, [("a", "ERROR"), (SEQ, "ERROR")]),
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("event", "root", "expected"), CASES)
@pytest.mark.parametrize("first", [False, True], ids=["handler-first", "tracer-first"])
def test_a_raising_handler_never_leaves_a_span_open(
    lg: Traced, mode: str, event: str, root: bool, expected: list[tuple[str, str]], first: bool
) -> None:
    chain = RunnableLambda(lambda x: x + 1, name="a") | RunnableLambda(lambda x: x * 2, name="b")
    guard = _guard(event, root)
    # The app's own handler on the same provider before the guard (it then traces the call), or
    # only the guard (the shared handler of instrument() comes after it).
    own = OpenTelemetryCallbackHandler(lg.provider)
    callbacks = [own, guard] if first else [guard]
    with pytest.raises(RuntimeError, match="vetoed"):
        if mode == "sync":
            chain.invoke(1, {"callbacks": callbacks})
        else:
            asyncio.run(chain.ainvoke(1, {"callbacks": callbacks}))
    if event == "on_chain_start" and not first:  # vetoed before any otelchain handler saw it
        expected = [] if root else [(SEQ, "ERROR")]
    assert _statuses(lg) == expected
    assert lg.tally.open == {}
    assert own.runs == {}

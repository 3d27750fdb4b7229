"""LangGraph: a resumed run is linked to the run it resumes, in one process and across processes.

A graph paused by ``interrupt()`` is resumed by another call on the same thread
(``Command(resume=...)``), often in another request and another worker, with a persistent
checkpointer in between. What links the two runs is what that checkpointer stores: every
checkpoint a traced graph run writes carries the W3C ``traceparent`` of the run's span in its
metadata (``otelchain_traceparent``; LangGraph copies the string values of the run config's
``metadata`` into each checkpoint's metadata). When a run resumes a thread (its input is a
``Command`` or None, on a thread with a checkpoint), its span gets a span link to the span named
in the checkpoint it resumes from.

Both happen in one place, LangGraph's ``PregelLoop._first``: called once per graph run, after the
loop loaded the thread's latest checkpoint (``checkpoint_metadata``) and before it writes any (it
writes with ``checkpoint_config``). Only the outermost graph of a run is linked and stamped
(subgraphs share its trace). No extra checkpointer read or write is made.

A graph that stops at a static breakpoint (``interrupt_before`` / ``interrupt_after``) raises its
``GraphInterrupt`` inside the loop, not in any run, and its run ends normally: the loop's exit
(``SyncPregelLoop.__exit__`` / ``AsyncPregelLoop.__aexit__``, where LangGraph swallows that
interrupt for the outermost graph) marks the graph's run paused, with the breakpoint and the
nodes a resume runs next (`otelchain.tracing._spans.control_flow.Pause`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanContext, TraceFlags

from otelchain.tracing import _names as A
from otelchain.tracing._spans import health as _health
from otelchain.tracing._spans.context import run_state
from otelchain.tracing._spans.control_flow import INTERRUPT, Pause, control_flow, interrupts_of

__all__ = ["TRACEPARENT_KEY", "loop_exit", "loop_first"]

logger = logging.getLogger("otelchain.integrations")

TRACEPARENT_KEY = "otelchain_traceparent"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_warned: set[str] = set()
_BREAKPOINTS = ("interrupt_before", "interrupt_after")  # the loop's status at a static breakpoint


def _traceparent(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def parse_traceparent(value: Any) -> SpanContext | None:
    """The span context a ``traceparent`` string names (a remote one), or None."""
    match = _TRACEPARENT.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    trace_id, span_id = int(match[1], 16), int(match[2], 16)
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(match[3], 16)))


def _resuming(loop: Any) -> bool:
    """Whether the run continues the thread's saved state (LangGraph's own test in ``_first``):
    a checkpoint with channels, and an input that is None or a ``Command``."""
    checkpoint = getattr(loop, "checkpoint", None)
    versions = checkpoint.get("channel_versions") if isinstance(checkpoint, Mapping) else None
    if not versions:
        return False
    value = loop.input
    return value is None or any(
        k.__name__ == "Command" and k.__module__.startswith("langgraph") for k in type(value).__mro__
    )


def _link_and_stamp(loop: Any) -> None:
    if loop.is_nested or loop.checkpointer is None:
        return
    state = run_state(getattr(loop.manager, "run_id", None))
    if state is None or not state.live:
        return
    span = state.span
    own = span.get_span_context()
    if not own.is_valid:
        return
    saved = loop.checkpoint_metadata
    previous = parse_traceparent(saved.get(TRACEPARENT_KEY)) if isinstance(saved, Mapping) else None
    if previous is not None and _resuming(loop) and previous.span_id != own.span_id:
        span.add_link(previous, {A.OTELCHAIN_LINK_REASON: "resume"})
    config = loop.checkpoint_config
    metadata = config.get("metadata")
    loop.checkpoint_config = {
        **config,
        "metadata": {
            **(metadata if isinstance(metadata, Mapping) else {}),
            TRACEPARENT_KEY: _traceparent(own),
        },
    }


def _failed(what: str, error: Exception) -> None:
    """Tracing never breaks the app: the run goes on (counted, logged once per kind)."""
    _health.count("tracer_errors")
    if what not in _warned:
        _warned.add(what)
        logger.warning("otelchain langgraph: %s failed (%s: %s)", what, type(error).__name__, error)


def loop_first(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wrapper of ``PregelLoop._first``: link a resumed run, stamp the checkpoints it writes."""
    try:
        _link_and_stamp(instance)
    except Exception as error:
        _failed("resume link", error)
    return wrapped(*args, **kwargs)


def _mark_breakpoint(loop: Any, error: BaseException) -> None:
    """The outermost graph stopped at a static breakpoint: its run is paused (not finished)."""
    status = getattr(loop, "status", None)
    if status not in _BREAKPOINTS or control_flow(error) != INTERRUPT or interrupts_of(error):
        return  # an error, or an ``interrupt()`` (its node's run says so, and hands it up)
    state = run_state(getattr(loop.manager, "run_id", None))
    if state is None or not state.live or state.paused is not None:
        return
    tasks = getattr(loop, "tasks", None)
    upcoming = sorted({str(t.name) for t in tasks.values()}) if isinstance(tasks, Mapping) else []
    state.paused = Pause(INTERRUPT, [], breakpoint=(status, upcoming))


def loop_exit(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wrapper of the loop's ``__exit__`` / ``__aexit__``: a static breakpoint (marked before
    the exit runs; the graph's run ends after it)."""
    try:
        error = args[1] if len(args) > 1 else kwargs.get("exc_value")
        if isinstance(error, BaseException) and not getattr(instance, "is_nested", True):
            _mark_breakpoint(instance, error)
    except Exception as failure:
        _failed("breakpoint", failure)
    return wrapped(*args, **kwargs)

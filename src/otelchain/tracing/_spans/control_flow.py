"""LangGraph's control flow: the exceptions a graph raises to pause or to redirect, not failures.

``interrupt()`` raises ``GraphInterrupt`` to pause a graph for human input; a subgraph node's
``Command(graph=Command.PARENT)`` raises ``ParentCommand`` to hand the command to its parent
graph; a drain request raises ``GraphDrained``. All of them derive from LangGraph's
``GraphBubbleUp``: they pass through the runs between the node that raised them and the graph that
handles them, and each of those runs' error callbacks receives them. None of them is a failure, so
a span they end gets no ERROR status, no ``exception`` event and no ``error.type`` (and no error
in the metrics or the console); it says what happened instead:

- ``otelchain.control_flow``: the exception's class name (``GraphInterrupt``, ``ParentCommand``);
- one ``langgraph.interrupt`` event per pending interrupt, with its ``langgraph.interrupt.id`` and,
  when content capture is on, its value as JSON (``langgraph.interrupt.value``);
- a ``langgraph.command`` event for a command sent to the parent graph: the graph it goes to, the
  nodes it goes to, and (content) its state update and resume value.

The graph that catches an interrupt (the root graph, whose run ends normally with the thread
paused) gets the same attribute and events when it ends: the interrupted run says so. A graph that
stops at a static breakpoint (compiled or called with ``interrupt_before`` / ``interrupt_after``)
raises no error in any run: `otelchain.integrations._langgraph` sees it as the graph's loop exits
and marks the graph's run paused here (`Pause.breakpoint`).

LangGraph is recognised by class name and module in the exception's MRO: otelchain never imports
it for this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentelemetry.util.types import AttributeValue

from otelchain.tracing import _names as A
from otelchain.tracing._spans.values import as_text

if TYPE_CHECKING:
    from otelchain.callbacks._runs import Run

__all__ = ["INTERRUPT", "Pause", "control_flow", "end_by_control_flow", "end_paused", "interrupts_of"]

_BUBBLE_UP = "GraphBubbleUp"
_INTERRUPT = INTERRUPT = "GraphInterrupt"
_PARENT_COMMAND = "ParentCommand"


_kinds: dict[type, str | None] = {}  # by exception class (at most 256 kept)


def _kind_of(cls: type) -> str | None:
    """The control-flow kind of an exception class: the name of its LangGraph class below
    ``GraphBubbleUp`` (``GraphInterrupt`` also for its subclass ``NodeInterrupt``), else None."""
    names = [(k.__name__, k.__module__ or "") for k in cls.__mro__]
    if not any(name == _BUBBLE_UP and module.startswith("langgraph") for name, module in names):
        return None
    for name, module in names:
        if module.startswith("langgraph") and name in (_INTERRUPT, _PARENT_COMMAND):
            return name
    return cls.__name__


def control_flow(error: BaseException | None) -> str | None:
    """``GraphInterrupt``, ``ParentCommand``, ... when ``error`` is LangGraph control flow (not a
    failure), else None."""
    if error is None or not isinstance(error, Exception):
        return None
    cls = type(error)
    try:
        return _kinds[cls]
    except KeyError:
        kind = _kind_of(cls)
        if len(_kinds) < 256:
            _kinds[cls] = kind
        return kind
    except TypeError:  # an unhashable exception class: the same answer, uncached
        return _kind_of(cls)


class Pause:
    """The interrupts a run ended with, kept for the graph run that catches them; or the static
    breakpoint a graph stopped at (``interrupt_before`` / ``interrupt_after``, and the nodes a
    resume runs next, as ``graph.get_state(config).next`` lists them)."""

    __slots__ = ("breakpoint", "interrupts", "kind")

    def __init__(
        self,
        kind: str,
        interrupts: list[tuple[str | None, Any]],
        breakpoint: tuple[str, list[str]] | None = None,
    ) -> None:
        self.kind = kind
        self.interrupts = interrupts
        self.breakpoint = breakpoint


def interrupts_of(error: BaseException) -> list[tuple[str | None, Any]]:
    """(id, value) of each ``Interrupt`` a ``GraphInterrupt`` carries (its first argument)."""
    args = getattr(error, "args", ())
    items = args[0] if args and isinstance(args[0], (list, tuple)) else ()
    out: list[tuple[str | None, Any]] = []
    for item in items:
        ident = getattr(item, "id", None)
        out.append((ident if isinstance(ident, str) else None, getattr(item, "value", None)))
    return out


def _command_attrs(error: BaseException, handler: Any) -> dict[str, AttributeValue]:
    """A ``ParentCommand``'s command: where it goes and (content) what it carries."""
    args = getattr(error, "args", ())
    command = args[0] if args else None
    attrs: dict[str, AttributeValue] = {}
    graph = getattr(command, "graph", None)
    if isinstance(graph, str):
        attrs[A.LANGGRAPH_COMMAND_GRAPH] = graph
    goto = getattr(command, "goto", None)
    targets = goto if isinstance(goto, (list, tuple)) else [goto] if goto else []
    names = [t if isinstance(t, str) else str(getattr(t, "node", "")) for t in targets]
    if names:
        attrs[A.LANGGRAPH_COMMAND_GOTO] = names
    if handler.capture_content:
        for field, key in (("update", A.LANGGRAPH_COMMAND_UPDATE), ("resume", A.LANGGRAPH_COMMAND_RESUME)):
            value = getattr(command, field, None)
            if value is not None:
                attrs[key] = as_text(value, handler.max_attribute_length)
    return attrs


def _record(handler: Any, state: Any, pause: Pause, attrs: dict[str, AttributeValue]) -> None:
    attrs[A.OTELCHAIN_CONTROL_FLOW] = pause.kind
    if pause.breakpoint is not None:
        when, upcoming = pause.breakpoint
        stop: dict[str, AttributeValue] = {A.LANGGRAPH_INTERRUPT_BREAKPOINT: when}
        if upcoming:
            stop[A.LANGGRAPH_INTERRUPT_NEXT] = upcoming
        handler.add_event(state, A.EVENT_LANGGRAPH_INTERRUPT, stop)
    for ident, value in pause.interrupts:
        event: dict[str, AttributeValue] = {}
        if ident is not None:
            event[A.LANGGRAPH_INTERRUPT_ID] = ident
        if handler.capture_content and value is not None:
            event[A.LANGGRAPH_INTERRUPT_VALUE] = as_text(value, handler.max_attribute_length)
        handler.add_event(state, A.EVENT_LANGGRAPH_INTERRUPT, event)


def end_by_control_flow(
    handler: Any, run: Run, state: Any, kind: str, attrs: dict[str, AttributeValue]
) -> None:
    """A run ended by control flow ``kind``: its attribute and events instead of an error; an
    interrupt is handed to the parent run's span state (the graph that catches it says so too)."""
    error = run.error
    assert error is not None
    if kind == _PARENT_COMMAND:
        attrs[A.OTELCHAIN_CONTROL_FLOW] = kind
        handler.add_event(state, A.EVENT_LANGGRAPH_COMMAND, _command_attrs(error, handler))
        return
    pause = Pause(kind, interrupts_of(error) if kind == _INTERRUPT else [])
    _record(handler, state, pause, attrs)
    parent = run.parent
    pstate = parent.data if parent is not None else None
    if pstate is not None and kind == _INTERRUPT:
        held: Pause | None = pstate.paused
        if held is None or held.breakpoint is not None:
            pstate.paused = pause
        else:  # another child paused too (parallel nodes, fan-out): the graph holds them all
            seen = {ident for ident, _ in held.interrupts if ident is not None}
            more = [item for item in pause.interrupts if item[0] is None or item[0] not in seen]
            pstate.paused = Pause(kind, [*held.interrupts, *more])


def end_paused(handler: Any, state: Any, attrs: dict[str, AttributeValue]) -> None:
    """A run that ended normally after a child was interrupted: the graph paused here."""
    pause: Pause | None = state.paused
    if pause is not None:
        _record(handler, state, pause, attrs)

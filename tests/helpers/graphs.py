"""LangGraph graphs the tests share (import it as a module: it needs langgraph).

- `approval_graph`: drafts, then pauses in ``interrupt()`` for a person's answer (human in the loop).
- `nested_graph`: the same pause inside a subgraph.
- `fan_out_graph`: three ``review`` nodes sent in one step, each pausing.
- `parent_command_graph`: a subgraph node hands control back with ``Command(graph=Command.PARENT)``.
- `failing_graph`: a node that raises (a genuine error).
- `breakpoint_graph`: ``draft`` then ``send``, stopping at a static breakpoint before or after a node.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt
from typing_extensions import TypedDict

QUESTION = {"question": "Send the draft?", "draft": "Dear team"}


class Draft(TypedDict, total=False):
    topic: str
    draft: str
    answer: str


def _draft(state: Draft) -> Draft:
    return {"draft": f"about {state.get('topic', '')}"}


def _ask(state: Draft) -> Draft:
    return {"answer": str(interrupt(QUESTION))}


def linear(state: Any, *nodes: tuple[str, Any]) -> Any:
    """A graph (not compiled) that runs ``nodes`` (name, function) one after the other."""
    graph = StateGraph(state)
    previous = START
    for name, node in nodes:
        graph.add_node(name, node)
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return graph


def approval_graph(checkpointer: Any = None) -> Any:
    """``draft`` then ``ask`` (pauses until resumed with ``Command(resume=...)``)."""
    return linear(Draft, ("draft", _draft), ("ask", _ask)).compile(checkpointer=checkpointer, name="approval")


def nested_graph(checkpointer: Any = None) -> Any:
    """``review`` runs a subgraph whose ``ask`` node pauses."""
    inner = StateGraph(Draft)
    inner.add_node("ask", _ask)
    inner.add_edge(START, "ask")
    inner.add_edge("ask", END)
    outer = StateGraph(Draft)
    outer.add_node("review", inner.compile(name="reviewer"))
    outer.add_edge(START, "review")
    outer.add_edge("review", END)
    return outer.compile(checkpointer=checkpointer, name="outer")


class Items(TypedDict, total=False):
    x: int
    log: Annotated[list[Any], operator.add]


def _review(state: Items) -> Items:
    return {"log": [interrupt(f"approve item {state['x']}?")]}


def fan_out_graph(checkpointer: Any = None, items: int = 3) -> Any:
    """``items`` ``review`` nodes sent in one step (``Send``), each pausing in ``interrupt()``."""
    graph = StateGraph(Items)
    graph.add_node("review", _review)
    graph.add_conditional_edges(START, lambda s: [Send("review", {"x": i}) for i in range(items)])
    return graph.compile(checkpointer=checkpointer, name="reviews")


def _hop(state: Draft) -> Command[Any]:
    return Command(graph=Command.PARENT, goto="done", update={"draft": "handed back"})


def _done(state: Draft) -> Draft:
    return {"answer": "done: " + state.get("draft", "")}


def parent_command_graph() -> Any:
    """``delegate`` runs a subgraph whose ``hop`` node sends the parent graph to ``done``."""
    inner = StateGraph(Draft)
    inner.add_node("hop", _hop)
    inner.add_edge(START, "hop")
    outer = StateGraph(Draft)
    outer.add_node("delegate", inner.compile(name="delegate_graph"), destinations=("done",))
    outer.add_node("done", _done)
    outer.add_edge(START, "delegate")
    outer.add_edge("done", END)
    return outer.compile(name="parent_command")


def _boom(state: Draft) -> Draft:
    raise ValueError("the draft is broken")


def failing_graph() -> Any:
    """``draft`` then ``boom``, which raises ValueError."""
    graph = StateGraph(Draft)
    graph.add_node("draft", _draft)
    graph.add_node("boom", _boom)
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "boom")
    graph.add_edge("boom", END)
    return graph.compile(name="failing")


def _send(state: Draft) -> Draft:
    return {"answer": "sent"}


def breakpoint_graph(checkpointer: Any, *, before: list[str] = [], after: list[str] = []) -> Any:  # noqa: B006
    """``draft`` then ``send``, compiled with static breakpoints (``interrupt_before`` /
    ``interrupt_after``): it stops there with no ``interrupt()`` and no error in any node."""
    graph = linear(Draft, ("draft", _draft), ("send", _send))
    return graph.compile(
        checkpointer=checkpointer, interrupt_before=before, interrupt_after=after, name="mailer"
    )

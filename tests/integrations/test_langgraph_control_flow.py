"""LangGraph's control flow is not failure: ``interrupt()``, a subgraph's interrupt and
``Command(graph=Command.PARENT)`` end their spans without ERROR, exception event or error.type,
count as no error in metrics or the console, and say what happened; a real exception still fails."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, interrupt
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import StatusCode

from otelchain.tracing import ConsoleCallbackHandler, ConsoleSpanTreeExporter, instrument
from tests._servers.openai_server import Reply, ToolCallReply
from tests.helpers import LC, Traced, histogram_points, parent_of
from tests.helpers import graphs as G


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _no_error(span: ReadableSpan) -> None:
    assert span.status.status_code is StatusCode.UNSET, (span.name, span.status)
    assert "error.type" not in _attrs(span), span.name
    assert not [e for e in span.events if e.name == "exception"], span.name


def _interrupts(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == "langgraph.interrupt"]


def _named(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def _thread(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_interrupt_pauses_without_error(lg: Traced, mode: str) -> None:
    graph = G.approval_graph(InMemorySaver())
    inputs, config = {"topic": "q3"}, _thread(f"t-{mode}")
    if mode == "invoke":
        out = graph.invoke(inputs, config)
        assert out["__interrupt__"][0].value == G.QUESTION
    elif mode == "stream":
        list(graph.stream(inputs, config))
    elif mode == "ainvoke":
        await graph.ainvoke(inputs, config)
    else:
        [c async for c in graph.astream(inputs, config, stream_mode=["values", "updates"])]
    spans = lg.spans
    for span in spans:
        _no_error(span)
    ask, root = _named(spans, "ask"), _named(spans, "invoke_workflow approval")
    interrupt_id = graph.get_state(config).interrupts[0].id
    for span in (ask, root):  # the node that paused, and the graph run that caught it
        assert _attrs(span)["otelchain.control_flow"] == "GraphInterrupt"
        (event,) = _interrupts(span)
        assert event["langgraph.interrupt.id"] == interrupt_id
        assert json.loads(event["langgraph.interrupt.value"]) == G.QUESTION
    assert "otelchain.control_flow" not in _attrs(_named(spans, "draft"))


def test_every_pending_interrupt_is_on_the_graph_that_caught_them(lg: Traced) -> None:
    """Nodes fanned out in one step each pause: the graph run lists all of their interrupts (the
    ids a resume needs), not only the last."""
    out = G.fan_out_graph(InMemorySaver()).invoke({"x": 0}, _thread("fan-out"))
    pending = sorted(i.id for i in out["__interrupt__"])
    assert len(pending) == 3
    root = _named(lg.spans, "invoke_workflow reviews")
    _no_error(root)
    assert sorted(e["langgraph.interrupt.id"] for e in _interrupts(root)) == pending


def test_interrupt_value_is_content(lg: Traced) -> None:
    instrument(lg.provider, capture_content=False)
    graph = G.approval_graph(InMemorySaver())
    graph.invoke({"topic": "secret topic"}, _thread("t"))
    (event,) = _interrupts(_named(lg.spans, "ask"))
    assert set(event) == {"langgraph.interrupt.id"}  # the id, not the value


def test_subgraph_interrupt_marks_no_level_as_failed(lg: Traced) -> None:
    graph = G.nested_graph(InMemorySaver())
    graph.invoke({"topic": "x"}, _thread("nested"))
    spans = lg.spans
    for span in spans:
        _no_error(span)
    ask = _named(spans, "ask")
    chain = [ask]
    while (parent := parent_of(chain[-1], spans)) is not None:
        chain.append(parent)
    assert [s.name for s in chain] == ["ask", "reviewer", "review", "invoke_workflow outer"]
    for span in chain:
        assert _attrs(span)["otelchain.control_flow"] == "GraphInterrupt", span.name
        assert len(_interrupts(span)) == 1, span.name


def test_command_to_the_parent_graph_is_not_an_error(lg: Traced) -> None:
    out = G.parent_command_graph().invoke({"topic": "x"})
    assert out["answer"] == "done: handed back"
    spans = lg.spans
    for span in spans:
        _no_error(span)
    ended = [s for s in spans if _attrs(s).get("otelchain.control_flow") == "ParentCommand"]
    assert sorted(s.name for s in ended) == ["delegate", "delegate_graph", "hop"]
    (command,) = [dict(e.attributes or {}) for e in _named(spans, "hop").events]
    assert command["langgraph.command.graph"] == Command.PARENT
    assert command["langgraph.command.goto"] == ("done",)
    assert json.loads(command["langgraph.command.update"]) == {"draft": "handed back"}
    assert "otelchain.control_flow" not in _attrs(_named(spans, "invoke_workflow parent_command"))


def test_a_real_exception_is_still_an_error(lg: Traced) -> None:
    with pytest.raises(ValueError, match="broken"):
        G.failing_graph().invoke({"topic": "x"})
    spans = lg.spans
    for name in ("boom", "invoke_workflow failing"):
        span = _named(spans, name)
        assert span.status.status_code is StatusCode.ERROR
        assert _attrs(span)["error.type"] == "ValueError"
        assert [e.name for e in span.events] == ["exception"]
        assert "otelchain.control_flow" not in _attrs(span)


def test_console_counts_no_error_and_verbose_says_paused(lg: Traced) -> None:
    out, log = io.StringIO(), io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(out, color=False)))
    instrument(provider)
    try:
        config = {**_thread("console"), "callbacks": [ConsoleCallbackHandler(log, color=False)]}
        G.approval_graph(InMemorySaver()).invoke({"topic": "x"}, config)
    finally:
        provider.shutdown()
    tree = out.getvalue()
    assert "0 errors" in tree and "ERROR" not in tree, tree
    assert "[chain/interrupt]" in log.getvalue() and "GraphInterrupt" in log.getvalue()
    assert "[chain/error]" not in log.getvalue()
    paused = [line for line in tree.splitlines() if "paused" in line]
    assert len(paused) == 2 and all("interrupt" in line and "Send the draft?" in line for line in paused), (
        tree
    )


def test_the_span_tree_shows_a_static_breakpoint(lg: Traced) -> None:
    out = io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(out, color=False)))
    instrument(provider)
    try:
        G.breakpoint_graph(InMemorySaver(), before=["send"]).invoke({"topic": "x"}, _thread("console-bp"))
    finally:
        provider.shutdown()
    tree = out.getvalue()
    assert "GraphInterrupt" in tree and "0 errors" in tree, tree
    assert [line.split("paused", 1)[1].strip() for line in tree.splitlines() if "paused" in line] == [
        "interrupt_before  next: send"
    ], tree


@tool
def send_email(to: str) -> str:
    """Send an email once a person approved it."""
    approved = interrupt({"approve": to})
    return f"sent to {to}" if approved else "cancelled"


def test_tool_interrupt_in_an_agent_is_no_error_metric(lc: LC) -> None:
    from langchain.agents import create_agent

    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    instrument(lc.traced.provider, meter_provider=meters)
    lc.server.add(Reply(tool_calls=[ToolCallReply("send_email", {"to": "team"})]), Reply("Sent."))
    agent = create_agent(lc.chat(), [send_email], name="mailer", checkpointer=InMemorySaver())
    config = _thread("mail")
    agent.invoke({"messages": [("user", "email the team")]}, config)
    tool_span = _named(lc.spans, "execute_tool send_email")
    _no_error(tool_span)
    assert _attrs(tool_span)["otelchain.control_flow"] == "GraphInterrupt"
    _no_error(_named(lc.spans, "invoke_agent mailer"))
    points = histogram_points(reader, "gen_ai.client.operation.duration")
    assert points and not [p for p in points if "error.type" in (p.attributes or {})]
    tools = [p for p in points if (p.attributes or {}).get("gen_ai.operation.name") == "execute_tool"]
    assert sum(p.count for p in tools) == 1
    lc.traced.exporter.clear()
    out = agent.invoke(Command(resume=True), config)
    assert out["messages"][-1].content == "Sent."
    meters.shutdown()


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_static_breakpoint_pauses_the_graph(lg: Traced, where: str, mode: str) -> None:
    """A graph compiled with ``interrupt_before`` / ``interrupt_after`` stops with no error in any
    run: its run's span says it paused, at which breakpoint, and which nodes a resume runs; the
    resumed run finishes plainly and links to it."""
    stop = {"before": ["send"]} if where == "before" else {"after": ["draft"]}
    graph = G.breakpoint_graph(InMemorySaver(), **stop)
    config = _thread(f"bp-{where}-{mode}")

    async def run(value: Any) -> None:
        if mode == "invoke":
            graph.invoke(value, config)
        elif mode == "ainvoke":
            await graph.ainvoke(value, config)
        elif mode == "stream":
            list(graph.stream(value, config))
        else:
            [_ async for _ in graph.astream(value, config)]

    await run({"topic": "q3"})
    assert graph.get_state(config).next == ("send",)
    await run(None)  # resume from the breakpoint
    assert graph.get_state(config).values["answer"] == "sent"
    paused, resumed = sorted(
        (s for s in lg.spans if s.name == "invoke_workflow mailer"), key=lambda s: s.start_time or 0
    )
    for span in lg.spans:
        _no_error(span)
    assert _attrs(paused)["otelchain.control_flow"] == "GraphInterrupt"
    assert _interrupts(paused) == [
        {"langgraph.interrupt.breakpoint": f"interrupt_{where}", "langgraph.interrupt.next": ("send",)}
    ]
    assert "otelchain.control_flow" not in _attrs(resumed) and _interrupts(resumed) == []
    assert [link.context.span_id for link in resumed.links] == [paused.context.span_id]
    for node in (s for s in lg.spans if s.name in ("draft", "send")):  # the nodes ran, plainly
        assert "otelchain.control_flow" not in _attrs(node)


def test_an_interrupt_inside_a_breakpointed_graph_is_still_the_interrupt(lg: Traced) -> None:
    """``interrupt()`` in a node of a graph that also has breakpoints: the pause is the node's
    interrupt (its id and value), not a breakpoint."""
    graph = G.approval_graph(InMemorySaver())
    config = _thread("bp-dynamic")
    graph.invoke({"topic": "q3"}, config, interrupt_before=["draft"])
    graph.invoke(None, config)  # past the breakpoint, into interrupt()
    first, second = sorted(
        (s for s in lg.spans if s.name == "invoke_workflow approval"), key=lambda s: s.start_time or 0
    )
    assert _interrupts(first) == [
        {"langgraph.interrupt.breakpoint": "interrupt_before", "langgraph.interrupt.next": ("draft",)}
    ]
    (pending,) = _interrupts(second)
    assert "langgraph.interrupt.breakpoint" not in pending and pending["langgraph.interrupt.id"]

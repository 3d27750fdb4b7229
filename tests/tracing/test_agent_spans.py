"""The agent's run tree as real OpenTelemetry spans (the tracing handler, SDK, in-memory
exporter): one trace, the executor span at the root, every span ended, user spans nested."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chat_models import FakeListChatModel
from otelchain.tools import Tool
from tests.helpers import CALC_AGENT_TREE, Traced, seed_executor, tree


def check(result: object, traced: Traced) -> None:
    spans = traced.spans
    assert tree(spans) == CALC_AGENT_TREE
    assert len({s.context.trace_id for s in spans}) == 1
    root = next(s for s in spans if s.parent is None)
    info = result.run_info  # type: ignore[attr-defined]
    assert info.trace_id == format(root.context.trace_id, "032x")
    assert info.span_id == format(root.context.span_id, "016x")
    assert root.attributes is not None
    assert root.attributes["agent.action.0.tool"] == "calculator"
    assert root.attributes["agent.action.0.tool_input"] == "2^8"
    assert all(s.status.status_code is not StatusCode.ERROR for s in spans)
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_agent_spans_sync(traced: Traced) -> None:
    result = seed_executor().call({"input": "What is 2 to the power of 8"}, callbacks=[traced.handler])
    check(result, traced)


async def test_agent_spans_async(traced: Traced) -> None:
    result = await seed_executor().acall({"input": "What is 2 to the power of 8"}, callbacks=[traced.handler])
    check(result, traced)


def test_crashing_tool_marks_tool_and_agent_spans_as_errors(traced: Traced) -> None:
    handler, tracer = traced.handler, traced.provider.get_tracer("user")

    def broken(_: str) -> str:
        with tracer.start_as_current_span("user work"):
            raise RuntimeError("disk on fire")

    tools = [Tool("broken", "Breaks.", broken)]
    agent = ZeroShotAgent.from_llm_and_tools(FakeListChatModel(["Action: broken\nAction Input: x"]), tools)
    executor = AgentExecutor.from_agent_and_tools(agent=agent, tools=tools)
    with pytest.raises(RuntimeError):
        executor.call({"input": "q"}, callbacks=[handler])
    spans = {s.name: s for s in traced.spans}
    assert spans["execute_tool broken"].status.status_code is StatusCode.ERROR
    assert spans["invoke_agent agent_executor"].status.status_code is StatusCode.ERROR
    user = spans["user work"]
    assert user.parent is not None and user.parent.span_id == spans["execute_tool broken"].context.span_id

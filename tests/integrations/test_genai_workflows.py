"""The current GenAI conventions for LangChain apps: root chains and graphs are ``invoke_workflow``
spans; tool spans under an agent name the agent; tool definitions carry their parameters; agent
spans carry their input and output messages (content-gated)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from otelchain.tracing import instrument
from tests._servers.openai_server import Reply, ToolCallReply
from tests.helpers import LC, Traced, calculator_executor, make_traced
from tests.helpers import graphs as G
from tests.helpers import scenarios as S


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _run_agent(lc: LC) -> None:
    from langchain.agents import create_agent

    lc.server.add(Reply(tool_calls=[ToolCallReply("add", {"a": 2, "b": 3})]), Reply("It is 5."))
    agent = create_agent(lc.chat(), [S.add], name="adder", system_prompt="You add numbers.")
    agent.invoke({"messages": [("user", "2+3?")]})


def test_root_graph_and_chain_are_workflows_children_are_not(lg: Traced) -> None:
    G.approval_graph().invoke({"topic": "x"}, {"configurable": {"thread_id": "w"}})
    spans = lg.spans
    (root,) = [s for s in spans if s.parent is None]
    assert root.name == "invoke_workflow approval"
    a = _attrs(root)
    assert a["gen_ai.operation.name"] == "invoke_workflow" and a["gen_ai.workflow.name"] == "approval"
    for child in (s for s in spans if s is not root):
        assert "gen_ai.operation.name" not in _attrs(child), child.name
        assert not child.name.startswith("invoke_workflow")


def test_workflow_names_need_the_genai_convention(lg: Traced) -> None:
    instrument(lg.provider, conventions="openinference")
    G.approval_graph().invoke({"topic": "x"}, {"configurable": {"thread_id": "w"}})
    (root,) = [s for s in lg.spans if s.parent is None]
    assert root.name == "approval" and "gen_ai.operation.name" not in _attrs(root)


def test_an_agent_is_not_a_workflow_and_its_tools_name_it(lc: LC) -> None:
    _run_agent(lc)
    (agent,) = [s for s in lc.spans if s.parent is None]
    assert agent.name == "invoke_agent adder"
    (tool_span,) = [s for s in lc.spans if s.name == "execute_tool add"]
    assert _attrs(tool_span)["gen_ai.agent.name"] == "adder"
    assert not [s for s in lc.spans if s.name.startswith("chat ") and "gen_ai.agent.name" in _attrs(s)]


def test_agent_span_has_its_input_and_output_messages(lc: LC) -> None:
    _run_agent(lc)
    a = _attrs(next(s for s in lc.spans if s.name == "invoke_agent adder"))
    assert json.loads(a["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "2+3?"}]}
    ]
    assert json.loads(a["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "It is 5."}],
            "name": "adder",  # create_agent names its messages after the agent
            "finish_reason": "stop",
        }
    ]
    chat = next(s for s in lc.spans if s.name.startswith("chat "))
    definitions = json.loads(_attrs(chat)["gen_ai.tool.definitions"])
    assert definitions[0]["name"] == "add"
    assert definitions[0]["parameters"]["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}


@pytest.mark.parametrize("switch", ["capture_content", "OPENINFERENCE_HIDE_INPUTS"])
def test_agent_messages_are_content(lc: LC, switch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if switch == "capture_content":
        instrument(lc.traced.provider, capture_content=False)
    else:
        monkeypatch.setenv("OPENINFERENCE_HIDE_INPUTS", "true")
        instrument(lc.traced.provider)
    _run_agent(lc)
    a = _attrs(next(s for s in lc.spans if s.name == "invoke_agent adder"))
    assert "gen_ai.input.messages" not in a
    assert ("gen_ai.output.messages" in a) is (switch != "capture_content")
    (tool_span,) = [s for s in lc.spans if s.name == "execute_tool add"]
    assert _attrs(tool_span)["gen_ai.agent.name"] == "adder"  # a name, not content


def test_an_executor_agent_span_has_messages_and_its_tools_name_it() -> None:
    t = make_traced()
    calculator_executor().call({"input": "What is 2 to the power of 8"}, callbacks=[t.handler])
    agent = next(s for s in t.spans if s.name.startswith("invoke_agent "))
    a = _attrs(agent)
    assert json.loads(a["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is 2 to the power of 8"}]}
    ]
    (answer,) = json.loads(a["gen_ai.output.messages"])
    assert answer["role"] == "assistant" and answer["parts"][0]["content"] == "256"
    tools = [s for s in t.spans if s.name.startswith("execute_tool ")]
    assert tools and all(_attrs(s)["gen_ai.agent.name"] == a["gen_ai.agent.name"] for s in tools)
    t.provider.shutdown()


@pytest.mark.parametrize(("limit", "whole"), [("100", False), (None, True)])
def test_an_agent_spans_input_images_follow_the_image_limit(
    lc: LC, monkeypatch: pytest.MonkeyPatch, limit: str | None, whole: bool
) -> None:
    """An image in the agent's input messages is kept whole within the image limit (past the
    16 KiB text bound) and becomes the marker past it, as on the model's span."""
    from langchain.agents import create_agent

    if limit is None:
        monkeypatch.delenv("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH", raising=False)
    else:
        monkeypatch.setenv("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH", limit)
    instrument(lc.traced.provider)
    image = "data:image/png;base64," + "iVBORw0KGgo" * 1_900  # 20,922 characters
    lc.server.add(Reply("A dot."))
    agent = create_agent(lc.chat(), [S.add], name="looker")
    content = [{"type": "text", "text": "what?"}, {"type": "image_url", "image_url": {"url": image}}]
    agent.invoke({"messages": [{"role": "user", "content": content}]})
    a = _attrs(next(s for s in lc.spans if s.name == "invoke_agent looker"))
    (message,) = json.loads(a["gen_ai.input.messages"])
    part = message["parts"][1]
    if whole:
        assert part["content"] == image.split(",", 1)[1]
    else:
        assert image.split(",", 1)[1][:200] not in a["gen_ai.input.messages"]
        assert re.fullmatch(r"\[base64 image/png: \d+ chars omitted\]", part["content"])

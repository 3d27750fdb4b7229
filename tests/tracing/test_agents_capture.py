"""Agent actions as attributes on the executor's span; content capture off leaves no content."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.tools import Tool
from tests.helpers import (
    CALC_AGENT_TREE,
    CALC_STEP_1,
    CALC_STEP_2,
    Boom,
    Traced,
    all_strings,
    calculator_executor,
    make_traced,
    tree,
)

STEP_1, STEP_2 = CALC_STEP_1, CALC_STEP_2
LOG_1 = "".join(STEP_1)
seed_executor = calculator_executor


def test_agent_executor_span_carries_actions_and_finish(traced: Traced) -> None:
    out = seed_executor().call({"input": "What is 2 to the power of 8"}, callbacks=[traced.handler])
    assert out["output"] == "256"
    assert tree(traced.spans) == CALC_AGENT_TREE
    root = traced.by_name("invoke_agent agent_executor")
    a = dict(root.attributes or {})
    assert root.kind is SpanKind.INTERNAL
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == "agent_executor"
    assert a["openinference.span.kind"] == "AGENT" and a["otelchain.run_type"] == "agent"
    assert a["agent.action.count"] == 1
    assert a["agent.action.0.tool"] == "calculator"
    assert a["agent.action.0.tool_input"] == "2^8"
    assert a["agent.action.0.log"] == LOG_1
    assert a["agent.finish.output"] == "256"
    assert "Final Answer: 256" in str(a["agent.finish.log"])
    tool = traced.by_name("execute_tool calculator")
    assert (tool.attributes or {})["output.value"] == "256"


def test_many_actions_are_numbered_in_order_and_stay_within_the_attribute_limit() -> None:
    t = make_traced()
    step = "Action: echo\nAction Input: {i}"
    script = [step.format(i=i) for i in range(60)] + ["Final Answer: done"]
    tools = [Tool(name="echo", description="Echoes.", func=lambda s: s)]
    chain = LLMChain(llm=FakeListChatModel(script), prompt=ZeroShotAgent.create_prompt(tools))
    executor = AgentExecutor.from_agent_and_tools(
        agent=ZeroShotAgent(llm_chain=chain), tools=tools, max_iterations=100
    )
    executor.call({"input": "go"}, callbacks=[t.handler])
    root = t.by_name("invoke_agent agent_executor")
    a = dict(root.attributes or {})
    assert root.dropped_attributes == 0  # the run identity was not pushed out
    assert a["otelchain.run_type"] == "agent" and a["agent.action.count"] == 60
    assert a["agent.action.0.tool_input"] == "0" and a["agent.action.1.tool_input"] == "1"
    assert a["agent.finish.output"] == "done"
    assert isinstance(a["otelchain.attributes_dropped"], int) and a["otelchain.attributes_dropped"] > 0


SECRET_PROMPT = "What is 2 to the power of 8"


def run_everything(t: Traced) -> None:
    seed_executor().call({"input": SECRET_PROMPT}, callbacks=[t.handler], metadata={"session_id": "s-1"})
    list(FakeListChatModel(["streamed secret words"]).stream("hidden question", callbacks=[t.handler]))


def assert_no_content(t: Traced) -> None:
    text = all_strings(t.spans)
    for content in (SECRET_PROMPT, "2^8", "256", "calculator tool", "streamed", "secret words", "hidden"):
        assert content not in text, content
    for span in t.spans:
        a = dict(span.attributes or {})
        assert not any(
            k.startswith(("input.", "output.", "llm.input_messages", "llm.output_messages")) for k in a
        )
        assert not any(k.endswith((".log", ".tool_input")) or k.startswith("agent.finish") for k in a)
        for event in span.events:
            assert "token.text" not in (event.attributes or {})
    root = t.by_name("invoke_agent agent_executor")
    assert (root.attributes or {})["agent.action.0.tool"] == "calculator"  # names are not content
    assert (root.attributes or {})["session.id"] == "s-1"
    chat = next(s for s in t.spans if s.name == "chat fake-chat" and s.parent is None)
    assert [e.attributes["token.index"] for e in chat.events] == [0, 1, 2]  # type: ignore[index]


def test_capture_content_false_leaves_no_content_anywhere() -> None:
    t = make_traced(capture_content=False)
    run_everything(t)
    assert_no_content(t)


def test_capture_env_var_false_leaves_no_content_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    t = make_traced()
    run_everything(t)
    assert_no_content(t)


def test_capture_off_keeps_exception_messages_out() -> None:

    t = make_traced(capture_content=False)
    with pytest.raises(ValueError):
        Boom(ValueError("could not parse: the user's secret question")).call({"x": 1}, callbacks=[t.handler])
    (span,) = t.spans
    assert "secret question" not in all_strings(t.spans)
    assert span.status.description == "ValueError"
    event = next(e for e in span.events if e.name == "exception")
    assert (event.attributes or {})["exception.type"] == "ValueError"
    assert "in _call" in str((event.attributes or {})["exception.stacktrace"])


def test_capture_is_on_by_default(traced: Traced) -> None:
    run_everything(traced)
    assert SECRET_PROMPT in all_strings(traced.spans)

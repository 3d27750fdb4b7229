"""The ReAct (MRKL) output parser and the ZeroShotAgent prompt."""

from __future__ import annotations

import pytest

from otelchain.agents import (
    FORMAT_INSTRUCTIONS,
    PREFIX,
    AgentAction,
    AgentFinish,
    MRKLOutputParser,
    OutputParserException,
    ZeroShotAgent,
)
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.prompts import PromptTemplate
from otelchain.tools import Calculator, Tool

parse = MRKLOutputParser().parse


def test_seed_action() -> None:
    text = "I can use the calculator tool to solve this.\nAction: calculator\nAction Input: 2^8"
    assert parse(text) == AgentAction("calculator", "2^8", text)


def test_seed_final_answer() -> None:
    text = "That was easy!\nFinal Answer: 256"
    assert parse(text) == AgentFinish({"output": "256"}, text)


@pytest.mark.parametrize(
    ("text", "tool", "tool_input"),
    [
        ("Action: search\nAction Input: weather in SF", "search", "weather in SF"),
        ('Action: search\nAction Input: "quoted"', "search", "quoted"),
        ("Thought: x\nAction 1: calc\nAction 1 Input 1: 1+1", "calc", "1+1"),
        ("Action:calc\nAction Input:3*3", "calc", "3*3"),
        ("Action: calc \n\nAction Input:  multi\nline  ", "calc", "multi\nline"),
        ('Action: sql\nAction Input: SELECT * FROM t WHERE a = "x"', "sql", 'SELECT * FROM t WHERE a = "x"'),
    ],
)
def test_action_variants(text: str, tool: str, tool_input: str) -> None:
    action = parse(text)
    assert isinstance(action, AgentAction)
    assert (action.tool, action.tool_input, action.log) == (tool, tool_input, text)


def test_final_answer_before_a_hallucinated_action_wins() -> None:
    text = "Final Answer: 42\n\nAction: calc\nAction Input: 1"
    assert parse(text) == AgentFinish({"output": "42"}, text)


def test_action_then_final_answer_is_an_error() -> None:
    with pytest.raises(OutputParserException, match="both a final answer and a parse-able action") as info:
        parse("Action: calc\nAction Input: 1\nObservation: 1\nFinal Answer: 1")
    assert info.value.send_to_llm is False


def test_missing_action_is_sent_back_to_the_model() -> None:
    with pytest.raises(OutputParserException, match="Could not parse LLM output") as info:
        parse("I am just chatting")
    error = info.value
    assert error.send_to_llm is True
    assert error.observation == "Invalid Format: Missing 'Action:' after 'Thought:'"
    assert error.llm_output == "I am just chatting"


def test_missing_action_input_is_sent_back_to_the_model() -> None:
    with pytest.raises(OutputParserException) as info:
        parse("Action: calculator")
    assert info.value.observation == "Invalid Format: Missing 'Action Input:' after 'Action:'"
    assert info.value.send_to_llm is True


def test_create_prompt_lists_tools_and_variables() -> None:
    search = Tool("search", "Look up {facts} on the web.", lambda q: q)
    prompt = ZeroShotAgent.create_prompt([Calculator(), search])
    assert prompt.input_variables == ["input", "agent_scratchpad"]
    text = prompt.format(input="What is 2 to the power of 8", agent_scratchpad="")
    assert text.startswith(PREFIX)
    assert f"calculator: {Calculator.description}" in text
    assert "search: Look up {facts} on the web." in text  # braces in descriptions stay literal
    assert "Action: the action to take, should be one of [calculator, search]" in text
    assert text.endswith("Question: What is 2 to the power of 8\nThought:")
    assert FORMAT_INSTRUCTIONS.split("\n")[0] in text


def test_create_prompt_custom_parts() -> None:
    prompt = ZeroShotAgent.create_prompt(
        [Calculator()],
        prefix="You do maths. Tools:",
        suffix="Q: {input} ({lang})\n{agent_scratchpad}",
        format_instructions="Pick from {tool_names}.",
        input_variables=["input", "lang", "agent_scratchpad"],
    )
    assert prompt.input_variables == ["input", "lang", "agent_scratchpad"]
    text = prompt.format(input="1+1", lang="en", agent_scratchpad="")
    assert text.startswith("You do maths. Tools:\n\ncalculator: ")
    assert "Pick from calculator." in text
    agent = ZeroShotAgent(llm_chain=LLMChain(llm=FakeListChatModel(["x"]), prompt=prompt))
    assert agent.input_keys == ["input", "lang"]


def test_agent_checks() -> None:
    chain = LLMChain(llm=FakeListChatModel(["x"]), prompt=PromptTemplate.from_template("{input}"))
    with pytest.raises(ValueError, match="agent_scratchpad"):
        ZeroShotAgent(llm_chain=chain)
    with pytest.raises(TypeError, match="LLMChain"):
        ZeroShotAgent(llm_chain="chain")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        ZeroShotAgent.create_prompt([Calculator(), Calculator()])
    with pytest.raises(TypeError, match="BaseTool"):
        ZeroShotAgent.create_prompt(["calculator"])  # type: ignore[list-item]
    good = LLMChain(llm=FakeListChatModel(["x"]), prompt=ZeroShotAgent.create_prompt([Calculator()]))
    with pytest.raises(TypeError, match="allowed_tools"):
        ZeroShotAgent(llm_chain=good, allowed_tools="calculator")


def test_scratchpad_and_stop() -> None:
    agent = ZeroShotAgent.from_llm_and_tools(FakeListChatModel(["x"]), [Calculator()])
    assert agent.stop == ["\nObservation:"]
    assert agent.get_allowed_tools() == ["calculator"]
    action = AgentAction("calculator", "2^8", "I can use it.\nAction: calculator\nAction Input: 2^8")
    assert agent.construct_scratchpad([(action, "256")]) == (
        "I can use it.\nAction: calculator\nAction Input: 2^8\nObservation: 256\nThought:"
    )

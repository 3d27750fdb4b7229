"""AgentExecutor: the loop, its events and run tree, limits, errors, sync and async."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry import trace

from otelchain.agents import AgentAction, AgentExecutor, AgentFinish, ZeroShotAgent
from otelchain.agents import _executor as executor_module
from otelchain.callbacks import BaseCallbackHandler
from otelchain.chat_models import FakeListChatModel
from otelchain.tools import BaseTool, Calculator, Tool, ToolException, tool
from tests.helpers import SEED_STEP_1, SEED_STEP_2, FakeClock, Recorder, SpanHandler, seed_executor


def make_executor(
    responses: Sequence[Any],
    tools: Sequence[BaseTool] | None = None,
    *,
    sleep: float | None = None,
    **kwargs: Any,
) -> AgentExecutor:
    tools = list(tools) if tools is not None else [Calculator()]
    model = FakeListChatModel(list(responses), sleep=sleep)
    agent = ZeroShotAgent.from_llm_and_tools(model, tools)
    return AgentExecutor.from_agent_and_tools(agent=agent, tools=tools, **kwargs)


SEED_SEQUENCE = [
    "chain_start:agent_executor",
    "chain_start:llm_chain",
    "llm_start:fake-list-chat-model",
    "llm_end:fake-list-chat-model",
    "chain_end:llm_chain",
    "agent_action:agent_executor",
    "tool_start:calculator",
    "tool_end:calculator",
    "chain_start:llm_chain",
    "llm_start:fake-list-chat-model",
    "llm_end:fake-list-chat-model",
    "chain_end:llm_chain",
    "agent_finish:agent_executor",
    "chain_end:agent_executor",
]


def check_seed_run(log: Recorder, result: Any) -> None:
    assert dict(result) == {"output": "256"}
    assert log.labels() == SEED_SEQUENCE
    executor_start = log.events[0]
    assert executor_start.kwargs["run_type"] == "agent"
    root = executor_start.run_id
    assert result.run_info.run_id == root
    by_label: dict[str, list[Any]] = {}
    for e in log.events:
        by_label.setdefault(e.label, []).append(e)
    # The run tree: llm_chain steps and the tool under the executor, the model under each step.
    for step in by_label["chain_start:llm_chain"]:
        assert step.parent_run_id == root
    assert by_label["tool_start:calculator"][0].parent_run_id == root
    steps = [s.run_id for s in by_label["chain_start:llm_chain"]]
    assert [m.parent_run_id for m in by_label["llm_start:fake-list-chat-model"]] == steps
    action = by_label["agent_action:agent_executor"][0].payload
    assert action == AgentAction(
        "calculator",
        "2^8",
        "I can use the calculator tool to solve this.\nAction: calculator\nAction Input: 2^8",
    )
    assert by_label["agent_action:agent_executor"][0].run_id == root
    tool_start = by_label["tool_start:calculator"][0]
    assert tool_start.payload == "2^8"
    assert by_label["tool_end:calculator"][0].payload == "256"
    finish = by_label["agent_finish:agent_executor"][0].payload
    assert finish == AgentFinish({"output": "256"}, "That was easy!\nFinal Answer: 256")
    # Every scripted token streamed, attributed to the model runs.
    tokens = log.of("token")
    assert [t.payload for t in tokens] == SEED_STEP_1 + SEED_STEP_2
    model_runs = [m.run_id for m in log.of("llm_start")]
    assert {t.run_id for t in tokens} == set(model_runs)
    # The model was asked to stop before inventing an observation.
    second_step = by_label["llm_start:fake-list-chat-model"][1]
    assert second_step.kwargs["invocation_params"]["stop"] == ["\nObservation:"]
    prompt = second_step.payload[0][0].content
    assert prompt.endswith("Action: calculator\nAction Input: 2^8\nObservation: 256\nThought:")


def test_seed_run_sync() -> None:
    log = Recorder()
    result = seed_executor().call({"input": "What is 2 to the power of 8"}, callbacks=[log])
    check_seed_run(log, result)


async def test_seed_run_async() -> None:
    log = Recorder()
    result = await seed_executor().acall({"input": "What is 2 to the power of 8"}, callbacks=[log])
    check_seed_run(log, result)


async def test_async_tools_use_their_coroutine() -> None:
    used: list[str] = []

    async def acalc(expression: str) -> str:
        used.append("coroutine")
        return "256"

    def calc(expression: str) -> str:
        used.append("func")
        return "256"

    tools = [Tool("calculator", "Does maths.", calc, coroutine=acalc)]
    executor = make_executor(["Action: calculator\nAction Input: 2^8", "Final Answer: 256"], tools)
    assert (await executor.acall({"input": "2^8?"}))["output"] == "256"
    assert executor.run("2^8?") == "256"
    assert used == ["coroutine", "func"]


def test_run_and_invoke_shortcuts() -> None:
    executor = seed_executor()
    assert executor.run("What is 2 to the power of 8") == "256"
    out = executor.invoke({"input": "again"})
    assert out == {"input": "again", "output": "256"}


def test_intermediate_steps() -> None:
    executor = seed_executor(return_intermediate_steps=True)
    result = executor.call({"input": "What is 2 to the power of 8"})
    assert list(result) == ["output", "intermediate_steps"]
    ((action, observation),) = result["intermediate_steps"]
    assert action.tool == "calculator" and action.tool_input == "2^8"
    assert observation == "256"
    assert observation.run_info is not None  # the observation names its tool run


def test_multi_step_with_calculator_errors_as_observations() -> None:
    responses = [
        "Let me divide.\nAction: calculator\nAction Input: 1/0",
        "Oops.\nAction: calculator\nAction Input: 2^10",
        "Final Answer: 1024",
    ]
    log = Recorder()
    result = make_executor(responses, return_intermediate_steps=True).call({"input": "q"}, callbacks=[log])
    assert result["output"] == "1024"
    first, second = result["intermediate_steps"]
    assert "division by zero" in first[1]
    assert second[1] == "1024"
    assert log.labels().count("tool_end:calculator") == 2
    assert not log.of("tool_error")
    # The error went back to the model in the next prompt.
    prompts = [e.payload[0][0].content for e in log.of("llm_start")]
    assert "Observation: cannot evaluate '1/0': division by zero\nThought:" in prompts[1]


def test_unknown_tool_is_an_observation() -> None:
    responses = ["Action: search\nAction Input: weather", "Final Answer: sunny"]
    log = Recorder()
    result = make_executor(responses, return_intermediate_steps=True).call({"input": "q"}, callbacks=[log])
    assert result["output"] == "sunny"
    ((action, observation),) = result["intermediate_steps"]
    assert action.tool == "search"
    assert observation == "search is not a valid tool, try one of [calculator]."
    assert log.labels()[5:8] == [
        "agent_action:agent_executor",
        "tool_start:invalid_tool",
        "tool_end:invalid_tool",
    ]
    assert log.of("tool_start")[0].kwargs["inputs"] == {
        "requested_tool_name": "search",
        "available_tool_names": ["calculator"],
    }


@pytest.mark.parametrize(
    ("handle", "observation"),
    [
        (True, "Invalid Format: Missing 'Action:' after 'Thought:'"),
        ("Please use the format.", "Please use the format."),
        (lambda e: f"bad: {e.llm_output}", "bad: I think the answer is 4"),
    ],
)
def test_parse_errors_are_retried_with_an_observation(handle: Any, observation: str) -> None:
    responses = ["I think the answer is 4", "Final Answer: 4"]
    log = Recorder()
    executor = make_executor(responses, return_intermediate_steps=True, handle_parsing_errors=handle)
    result = executor.call({"input": "2+2"}, callbacks=[log])
    assert result["output"] == "4"
    ((action, obs),) = result["intermediate_steps"]
    assert action.tool == "_Exception"
    assert obs == observation
    assert "tool_start:_Exception" in log.labels()
    prompts = [e.payload[0][0].content for e in log.of("llm_start")]
    assert f"\nObservation: {observation}\nThought:" in prompts[1]


def test_parse_errors_default_to_retry() -> None:
    result = make_executor(["nonsense", "Final Answer: ok"]).call({"input": "q"})
    assert result["output"] == "ok"


def test_parse_errors_can_raise() -> None:
    log = Recorder()
    executor = make_executor(["nonsense"], handle_parsing_errors=False)
    with pytest.raises(ValueError, match="output parsing error"):
        executor.call({"input": "q"}, callbacks=[log])
    assert log.labels()[-1] == "chain_error:agent_executor"


def test_action_then_answer_in_one_reply_is_retried() -> None:
    responses = ["Action: calculator\nAction Input: 1\nFinal Answer: 1", "Final Answer: 2"]
    result = make_executor(responses, return_intermediate_steps=True).call({"input": "q"})
    assert result["output"] == "2"
    assert result["intermediate_steps"][0][1] == "Invalid or incomplete response"


def test_hallucinated_observation_is_cut_at_the_stop_sequence() -> None:
    # A model that ignores `stop` invents the observation and the answer; the agent acts on
    # the action only, as if the provider had stopped at "\nObservation:".
    responses = [
        "Action: calculator\nAction Input: 3^3\nObservation: 99\nFinal Answer: 99",
        "Final Answer: 27",
    ]
    result = make_executor(responses, return_intermediate_steps=True).call({"input": "q"})
    assert result["intermediate_steps"][0][1] == "27"
    assert result["output"] == "27"


def test_max_iterations_force() -> None:
    log = Recorder()
    executor = make_executor(["Action: calculator\nAction Input: 1+1"], max_iterations=3)
    result = executor.call({"input": "loop"}, callbacks=[log])
    assert result["output"] == "Agent stopped due to iteration limit or time limit."
    assert len(log.of("chain_start", "llm_chain")) == 3
    assert len(log.of("tool_start", "calculator")) == 3
    assert log.labels()[-2:] == ["agent_finish:agent_executor", "chain_end:agent_executor"]


async def test_max_iterations_force_async() -> None:
    executor = make_executor(["Action: calculator\nAction Input: 1+1"], max_iterations=2)
    result = await executor.acall({"input": "loop"}, return_only_outputs=True)
    assert result["output"] == "Agent stopped due to iteration limit or time limit."


def test_max_iterations_generate_asks_once_more() -> None:
    log = Recorder()
    responses = ["Action: calculator\nAction Input: 1+1"] * 2 + ["I now know.\nFinal Answer: 2"]
    executor = make_executor(responses, max_iterations=2, early_stopping_method="generate")
    result = executor.call({"input": "1+1"}, callbacks=[log])
    assert result["output"] == "2"
    steps = log.of("chain_start", "llm_chain")
    assert len(steps) == 3
    assert all(s.parent_run_id == log.events[0].run_id for s in steps)  # traced under the executor
    last_prompt = log.of("llm_start")[-1].payload[0][0].content
    assert last_prompt.endswith("I now need to return a final answer based on the previous steps:")


async def test_max_iterations_generate_async_without_final_marker() -> None:
    responses = ["Action: calculator\nAction Input: 1+1", "It is two."]
    executor = make_executor(responses, max_iterations=1, early_stopping_method="generate")
    assert (await executor.acall({"input": "1+1"}))["output"] == "It is two."


def test_max_execution_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a fake clock each model call takes 0.05 s: steps start at 0, 0.05 and 0.10; at 0.15
    the 0.12 s limit stops the loop."""
    clock = FakeClock()
    monkeypatch.setattr(executor_module, "time", clock)
    log = Recorder()
    work = BaseCallbackHandler.from_methods({"on_chat_model_start": lambda *a, **k: clock.advance(0.05)})
    executor = make_executor(
        ["Action: calculator\nAction Input: 1+1"], max_execution_time=0.12, max_iterations=None
    )
    result = executor.call({"input": "loop"}, callbacks=[log, work])
    assert result["output"] == "Agent stopped due to iteration limit or time limit."
    assert len(log.of("chain_start", "llm_chain")) == 3


async def test_max_execution_time_async(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the sync loop, on a fake clock: each model call takes 10 s, steps start at 0, 10 and 20;
    at 30 the 25 s limit stops the loop (the deadline that cancels a running step is tested below)."""
    clock = FakeClock()
    monkeypatch.setattr(executor_module, "time", clock)
    log = Recorder()
    work = BaseCallbackHandler.from_methods({"on_chat_model_start": lambda *a, **k: clock.advance(10)})
    executor = make_executor(
        ["Action: calculator\nAction Input: 1+1"], max_execution_time=25, max_iterations=None
    )
    result = await executor.acall({"input": "loop"}, callbacks=[log, work])
    assert result["output"] == "Agent stopped due to iteration limit or time limit."
    assert len(log.of("chain_start", "llm_chain")) == 3
    assert log.of("llm_error") == []  # stopped between steps, no step cut


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_iterations": 0},
        {"max_execution_time": -1},
        {"early_stopping_method": "panic"},
    ],
)
def test_executor_checks_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_executor(["x"], **kwargs)


def test_executor_checks_types() -> None:
    with pytest.raises(TypeError, match="ZeroShotAgent"):
        AgentExecutor.from_agent_and_tools(agent="agent", tools=[])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing input key"):
        seed_executor().call({"question": "x"})


def test_tool_crash_propagates_and_every_run_ends() -> None:
    def broken(_: str) -> str:
        raise RuntimeError("disk on fire")

    log = Recorder()
    executor = make_executor(["Action: broken\nAction Input: x"], [Tool("broken", "Breaks.", broken)])
    with pytest.raises(RuntimeError, match="disk on fire"):
        executor.call({"input": "q"}, callbacks=[log])
    assert log.labels()[-3:] == ["tool_start:broken", "tool_error:broken", "chain_error:agent_executor"]


def test_handled_tool_exception_is_an_observation() -> None:
    @tool(handle_tool_error=True)
    def lookup(key: str) -> str:
        """Look up a key."""
        raise ToolException(f"{key} is unknown")

    responses = ["Action: lookup\nAction Input: k", "Final Answer: none"]
    result = make_executor(responses, [lookup], return_intermediate_steps=True).call({"input": "q"})
    assert result["intermediate_steps"][0][1] == "k is unknown"


def test_return_direct_tool_ends_the_run() -> None:
    @tool(return_direct=True)
    def answer(question: str) -> str:
        """Answer directly."""
        return "42"

    log = Recorder()
    result = make_executor(["Action: answer\nAction Input: life"], [answer]).call(
        {"input": "q"}, callbacks=[log]
    )
    assert dict(result) == {"output": "42"}
    assert len(log.of("chain_start", "llm_chain")) == 1


def test_spans_nest_executor_llm_chain_model_and_tool() -> None:
    spans = SpanHandler()
    seen: list[Any] = []

    def calc(expression: str) -> str:
        seen.append(trace.get_current_span().get_span_context().span_id)
        with spans.tracer.start_as_current_span("inside tool"):
            return "256"

    tools = [Tool("calculator", "Maths.", calc)]
    executor = make_executor(["Action: calculator\nAction Input: 2^8", "Final Answer: 256"], tools)
    executor.call({"input": "q"}, callbacks=[spans])
    names = [s.name for s in spans.exporter.get_finished_spans()]
    assert names.count("chain llm_chain") == 2
    finished = spans.finished()
    root = finished["chain agent_executor"]
    assert finished["tool calculator"].parent.span_id == root.context.span_id  # type: ignore[union-attr]
    assert finished["inside tool"].parent.span_id == finished["tool calculator"].context.span_id  # type: ignore[union-attr]
    assert seen == [finished["tool calculator"].context.span_id]
    assert trace.get_current_span() is trace.INVALID_SPAN


async def test_concurrent_async_runs_keep_their_trees_apart() -> None:
    log = Recorder()
    executors = [seed_executor() for _ in range(5)]
    results = await asyncio.gather(*(e.acall({"input": "2^8"}, callbacks=[log]) for e in executors))
    assert all(r["output"] == "256" for r in results)
    roots = {r.run_info.run_id for r in results}
    tool_parents = {e.parent_run_id for e in log.of("tool_start")}
    assert tool_parents == roots


def test_verbose_prints_the_agent_run(capsys: pytest.CaptureFixture[str]) -> None:
    seed_executor(verbose=True).call({"input": "What is 2 to the power of 8"})
    out = capsys.readouterr().out
    assert "agent_executor" in out
    assert "calculator" in out
    assert "256" in out


def test_multi_argument_tool_takes_json_action_input() -> None:
    @tool(handle_tool_error=True)
    def power(base: int, exponent: int) -> int:
        """Raise base to exponent."""
        return int(base**exponent)

    responses = [
        'Action: power\nAction Input: {"base": 2, "exponent": 8}',
        "Action: power\nAction Input: 2, 8",
        "Final Answer: 256",
    ]
    result = make_executor(responses, [power], return_intermediate_steps=True).call({"input": "2^8"})
    (_, first), (_, second) = result["intermediate_steps"]
    assert first == 256
    assert "as a JSON object" in second  # the model is told how to call it, the run goes on
    assert result["output"] == "256"


async def test_async_deadline_cancels_a_slow_step_and_ends_its_runs() -> None:
    log = Recorder()
    executor = make_executor(["Final Answer: too late"], sleep=3600.0, max_execution_time=0.2)
    result = await executor.acall({"input": "q"}, callbacks=[log])
    (error,) = [e.payload for e in log.of("llm_error")]
    assert isinstance(error, asyncio.CancelledError)  # the hour-long step was cut at the deadline
    assert result["output"] == "Agent stopped due to iteration limit or time limit."
    # The cancelled model call and its llm_chain step still ended (with errors).
    labels = log.labels()
    assert labels.count("llm_start:fake-list-chat-model") == 1
    assert labels.count("llm_error:fake-list-chat-model") == 1
    assert labels.count("chain_start:llm_chain") == labels.count("chain_error:llm_chain") == 1
    assert labels[-2:] == ["agent_finish:agent_executor", "chain_end:agent_executor"]


async def test_a_steps_own_timeout_is_not_the_deadline() -> None:
    async def slow(_: str) -> str:
        raise asyncio.TimeoutError("the tool's own timeout")

    tools = [Tool("slow", "Times out.", coroutine=slow)]
    executor = make_executor(["Action: slow\nAction Input: x"], tools, max_execution_time=30)
    with pytest.raises(asyncio.TimeoutError):
        await executor.acall({"input": "q"})


async def test_completion_model_agent() -> None:
    from otelchain.llms import FakeListLLM

    log = Recorder()
    llm = FakeListLLM([" I should compute.\nAction: calculator\nAction Input: 6*7", " Final Answer: 42"])
    agent = ZeroShotAgent.from_llm_and_tools(llm, [Calculator()])
    executor = AgentExecutor.from_agent_and_tools(agent=agent, tools=[Calculator()])
    assert executor.run("6*7?", callbacks=[log]) == "42"
    assert (await executor.arun("6*7?")) == "42"
    prompts = log.of("llm_start")[1].payload
    assert prompts[0].endswith("Action Input: 6*7\nObservation: 42\nThought:")

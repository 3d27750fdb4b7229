"""Constructor callbacks (that object only) vs request callbacks (the call and every sub-call),
across the executor, its LLMChain, the model and the tool — as the seed's example relies on."""

from __future__ import annotations

from typing import Any

import pytest

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.tools import Calculator
from tests.helpers import SEED_STEP_1, SEED_STEP_2, Recorder, call, seed_model

MODEL = "fake-list-chat-model"


def build(
    executor_cb: list[Any] | None = None,
    chain_cb: list[Any] | None = None,
    model_cb: list[Any] | None = None,
    tool_cb: list[Any] | None = None,
    **executor_kwargs: Any,
) -> AgentExecutor:
    tools = [Calculator(callbacks=tool_cb)]
    chain = LLMChain(
        llm=seed_model(callbacks=model_cb), prompt=ZeroShotAgent.create_prompt(tools), callbacks=chain_cb
    )
    agent = ZeroShotAgent(llm_chain=chain, allowed_tools=["calculator"])
    return AgentExecutor.from_agent_and_tools(
        agent=agent, tools=tools, callbacks=executor_cb, **executor_kwargs
    )


QUESTION = {"input": "What is 2 to the power of 8"}


@pytest.fixture(params=[False, True], ids=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return "async" if request.param else "sync"


async def test_each_constructor_handler_sees_only_its_object(mode: str) -> None:
    on_executor, on_chain, on_model, on_tool, on_request = (Recorder() for _ in range(5))
    executor = build([on_executor], [on_chain], [on_model], [on_tool])
    result = await call(executor, QUESTION, mode, callbacks=[on_request])
    assert result["output"] == "256"

    assert on_executor.labels() == [
        "chain_start:agent_executor",
        "agent_action:agent_executor",
        "agent_finish:agent_executor",
        "chain_end:agent_executor",
    ]
    assert on_chain.labels() == ["chain_start:llm_chain", "chain_end:llm_chain"] * 2
    assert on_model.labels() == [f"llm_start:{MODEL}", f"llm_end:{MODEL}"] * 2
    assert len(on_model.of("token")) == len(SEED_STEP_1) + len(SEED_STEP_2)
    assert on_tool.labels() == ["tool_start:calculator", "tool_end:calculator"]
    # The request handler sees the whole tree, in order.
    assert on_request.labels() == [
        "chain_start:agent_executor",
        "chain_start:llm_chain",
        f"llm_start:{MODEL}",
        f"llm_end:{MODEL}",
        "chain_end:llm_chain",
        "agent_action:agent_executor",
        "tool_start:calculator",
        "tool_end:calculator",
        "chain_start:llm_chain",
        f"llm_start:{MODEL}",
        f"llm_end:{MODEL}",
        "chain_end:llm_chain",
        "agent_finish:agent_executor",
        "chain_end:agent_executor",
    ]
    # Constructor handlers get the same run ids as the request handler (one tree).
    assert {e.run_id for e in on_tool.events} <= {e.run_id for e in on_request.events}


async def test_handler_in_both_places_gets_each_event_once(mode: str) -> None:
    both = Recorder()
    executor = build(chain_cb=[both], model_cb=[both], tool_cb=[both])
    await call(executor, QUESTION, mode, callbacks=[both])
    labels = both.labels()
    assert labels.count("chain_start:llm_chain") == 2
    assert labels.count(f"llm_start:{MODEL}") == 2
    assert labels.count("tool_start:calculator") == 1
    assert len(both.of("token")) == len(SEED_STEP_1) + len(SEED_STEP_2)


async def test_request_tags_and_metadata_are_inherited_constructor_ones_are_not(mode: str) -> None:
    log = Recorder()
    executor = build(tags=["executor-tag"], metadata={"team": "agents"})
    await call(executor, QUESTION, mode, callbacks=[log], tags=["request"], metadata={"user": "u1"})
    starts = {e.label: e for e in log.events if e.kind.endswith("_start")}
    root = starts["chain_start:agent_executor"]
    assert set(root.kwargs["tags"]) == {"request", "executor-tag"}
    assert root.kwargs["metadata"] == {"user": "u1", "team": "agents"}
    for label in ("chain_start:llm_chain", f"llm_start:{MODEL}", "tool_start:calculator"):
        assert starts[label].kwargs["tags"] == ["request"], label
        assert starts[label].kwargs["metadata"] == {"user": "u1"}, label


async def test_no_handlers_anywhere_still_runs(mode: str) -> None:
    result = await call(build(), QUESTION, mode)
    assert dict(result) == {"output": "256"}
    assert result.run_info is not None


async def test_ignore_agent_hides_actions_and_tools(mode: str) -> None:
    class NoAgent(Recorder):
        ignore_agent = True

    quiet = NoAgent()
    await call(build(), QUESTION, mode, callbacks=[quiet])
    kinds = {e.kind for e in quiet.events}
    assert "chain_start" in kinds and "llm_start" in kinds
    assert not kinds & {"agent_action", "agent_finish", "tool_start", "tool_end"}

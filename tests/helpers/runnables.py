"""Runnables the tests share: small chains, the seed's chain and agent, and the fault suite's pipeline."""

from __future__ import annotations

from typing import Any

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from otelchain.chains import Chain, LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tools import Calculator, Tool


class XYChain(Chain):
    """A test chain taking input ``x`` and returning output ``y``; subclasses write `_call`."""

    @property
    def input_keys(self) -> list[str]:
        return ["x"]

    @property
    def output_keys(self) -> list[str]:
        return ["y"]


class Boom(XYChain):
    """A chain whose body raises the given exception."""

    type_name = "boom"

    def __init__(self, error: BaseException, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        raise self.error


def seed_chain(**llm_kwargs: Any) -> LLMChain:
    """The seed's first example: ``1 + {number} =`` answered by a scripted completion model."""
    llm = FakeListLLM([" 3\n\n3 - 1 = 2"], **llm_kwargs)
    return LLMChain(llm=llm, prompt=PromptTemplate.from_template("1 + {number} ="))


# The seed's agent example, streamed exactly as the seed's model streams it.
SEED_STEP_1 = ["", "I", " can", " use", " the", " calculator", " tool", " to", " solve", " this", ".\n"]
SEED_STEP_1 += ["Action", ":", " calculator", "\n", "Action", " Input", ":", " ", "2", "^", "8", ""]
SEED_STEP_2 = ["", "That", " was", " easy", "!\n", "Final", " Answer", ":", " ", "256", ""]


def seed_model(**kwargs: Any) -> FakeListChatModel:
    """The scripted chat model of the seed's example (streams the seed's tokens)."""
    return FakeListChatModel([SEED_STEP_1, SEED_STEP_2], streaming=True, **kwargs)


def seed_executor(**kwargs: Any) -> AgentExecutor:
    """The seed's calculator agent (its agent allows only ``search``, as the seed's does)."""
    tools = [Calculator()]
    chain = LLMChain(llm=seed_model(), prompt=ZeroShotAgent.create_prompt(tools))
    agent = ZeroShotAgent(llm_chain=chain, allowed_tools=["search"])
    return AgentExecutor.from_agent_and_tools(agent=agent, tools=tools, **kwargs)


CALC_STEP_1 = ["I", " can", " use", " the", " calculator", ".\n", "Action", ":", " calculator", "\n"]
CALC_STEP_1 += ["Action", " Input", ":", " 2", "^", "8"]
CALC_STEP_2 = ["That", " was", " easy", "!\n", "Final", " Answer", ":", " 256"]


def calculator_executor() -> AgentExecutor:
    """A two-step calculator agent (one action, then the final answer ``256``)."""
    tools = [Calculator()]
    model = FakeListChatModel([CALC_STEP_1, CALC_STEP_2], streaming=True)
    chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
    agent = ZeroShotAgent(llm_chain=chain, allowed_tools=["calculator"])
    return AgentExecutor.from_agent_and_tools(agent=agent, tools=tools)


# The span tree (name, parent name) of one `calculator_executor` / seed agent run, sorted.
CALC_AGENT_TREE = sorted(
    [
        ("invoke_agent agent_executor", None),
        ("llm_chain", "invoke_agent agent_executor"),
        ("llm_chain", "invoke_agent agent_executor"),
        ("chat fake-chat", "llm_chain"),
        ("chat fake-chat", "llm_chain"),
        ("execute_tool calculator", "invoke_agent agent_executor"),
    ]
)


# The events of one `Pipeline` call, in order (the chain, its streaming model, its tool).
PIPELINE_EVENTS = [
    "on_chain_start",
    "on_llm_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_tool_start",
    "on_tool_end",
    "on_chain_end",
]


class Pipeline(XYChain):
    """A chain that asks a streaming model, then runs a tool on the answer (sync and async)."""

    type_name = "pipeline"

    def __init__(self, llm: Any = None, tool: Tool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.llm = llm or FakeListLLM([["a", "b", "c"]], streaming=True)
        self.tool = tool or Tool("echo", "Echo the text.", func=lambda s: f"echo {s}", coroutine=_aecho)

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        text = self.llm.call(str(inputs["x"]), callbacks=run_manager.get_child())
        return {"y": self.tool.run(str(text), callbacks=run_manager.get_child())}

    async def _acall(
        self, inputs: dict[str, Any], run_manager: AsyncCallbackManagerForChainRun
    ) -> dict[str, Any]:
        text = await self.llm.acall(str(inputs["x"]), callbacks=run_manager.get_child())
        return {"y": await self.tool.arun(str(text), callbacks=run_manager.get_child())}


async def _aecho(s: str) -> str:
    return f"echo {s}"

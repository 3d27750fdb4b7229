"""Helpers shared by test packages."""

from __future__ import annotations

import time
from typing import Any

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.callbacks import BaseCallbackHandler, CallbackManagerForChainRun
from otelchain.chains import Chain, LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tools import Calculator


class Recorder(BaseCallbackHandler):
    """Records (event, first positional argument, kwargs) for every event."""

    def __init__(self, label: str = "rec") -> None:
        self.label = label
        self.events: list[tuple[str, Any, dict[str, Any]]] = []

    def _rec(self, event: str, arg: Any, kwargs: dict[str, Any]) -> None:
        self.events.append((event, arg, kwargs))

    def on_llm_start(self, serialized: Any, prompts: Any, **kw: Any) -> None:
        self._rec("on_llm_start", prompts, kw)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self._rec("on_chat_model_start", messages, kw)

    def on_llm_new_token(self, token: str, **kw: Any) -> None:
        self._rec("on_llm_new_token", token, kw)

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self._rec("on_llm_end", response, kw)

    def on_llm_error(self, error: BaseException, **kw: Any) -> None:
        self._rec("on_llm_error", error, kw)

    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self._rec("on_chain_start", (serialized or {}).get("name") or kw.get("name"), kw)

    def on_chain_end(self, outputs: Any, **kw: Any) -> None:
        self._rec("on_chain_end", outputs, kw)

    def on_chain_error(self, error: BaseException, **kw: Any) -> None:
        self._rec("on_chain_error", error, kw)

    @property
    def names(self) -> list[str]:
        return [e[0] for e in self.events]


class XYChain(Chain):
    """A test chain taking input ``x`` and returning output ``y``; subclasses write `_call`."""

    @property
    def input_keys(self) -> list[str]:
        return ["x"]

    @property
    def output_keys(self) -> list[str]:
        return ["y"]


class FakeClock:
    """A clock the test moves by hand, patched in as a module's ``time`` (``monkeypatch.setattr(
    module, "time", clock)``): ``time_ns``/``monotonic`` read it, the rest is the real module."""

    def __init__(self) -> None:
        self.ns = 1_000_000_000_000

    def advance(self, seconds: float) -> None:
        self.ns += round(seconds * 1e9)

    def time_ns(self) -> int:
        return self.ns

    def monotonic(self) -> float:
        return self.ns / 1e9

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


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

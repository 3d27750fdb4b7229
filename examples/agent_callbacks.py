"""LangChain's last example: request callbacks on an agent executor, constructor callbacks on
the chat model and the LLMChain.

handler1 is passed to ``executor.call(...)``: it sees every run of that request (the executor,
each llm_chain step, the model, the agent's actions and the tool). handler2 is passed to the
model's and the LLMChain's constructors: it sees only those two objects' runs.

Without OPENAI_API_KEY a scripted chat model streams LangChain's exact tokens; with it, the same
script runs on ChatOpenAI (temperature 0, streaming).

    python examples/agent_callbacks.py
"""

from __future__ import annotations

import os
from typing import Any

from otelchain.agents import AgentAction, AgentExecutor, ZeroShotAgent
from otelchain.callbacks import BaseCallbackHandler
from otelchain.chains import LLMChain
from otelchain.chat_models import BaseChatModel, FakeListChatModel
from otelchain.tools import Calculator

# What LangChain's model streamed, token by token, for its two steps.
STEP_1 = ["", "I", " can", " use", " the", " calculator", " tool", " to", " solve", " this", ".\n"]
STEP_1 += ["Action", ":", " calculator", "\n", "Action", " Input", ":", " ", "2", "^", "8", ""]
STEP_2 = ["", "That", " was", " easy", "!\n", "Final", " Answer", ":", " ", "256", ""]
SEED_TOKENS = [STEP_1, STEP_2]


class CustomHandler(BaseCallbackHandler):
    """You can implement your own callback handler by subclassing BaseCallbackHandler."""

    name = "custom_handler"

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        print("token", {"token": token})

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], **kwargs: Any) -> None:
        print("handleLLMStart", {"llm": {"name": serialized.get("name")}})

    def on_chain_start(self, serialized: dict[str, Any], inputs: dict[str, Any], **kwargs: Any) -> None:
        print("handleChainStart", {"chain": {"name": serialized.get("name")}})

    def on_agent_action(self, action: AgentAction, **kwargs: Any) -> None:
        print("handleAgentAction", action)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, **kwargs: Any) -> None:
        print("handleToolStart", {"tool": {"name": serialized.get("name")}})


def make_handler2() -> BaseCallbackHandler:
    """Additionally, you can use `from_methods` (with LangChain's JS names) to create a handler."""

    def handle_llm_start(llm: dict[str, Any], _prompts: list[str]) -> None:
        print("handleLLMStart: I'm the second handler!!", {"llm": {"name": llm.get("name")}})

    def handle_chain_start(chain: dict[str, Any]) -> None:
        print("handleChainStart: I'm the second handler!!", {"chain": {"name": chain.get("name")}})

    def handle_agent_action(action: AgentAction) -> None:
        print("handleAgentAction", action)

    def handle_tool_start(tool: dict[str, Any]) -> None:
        print("handleToolStart", {"tool": {"name": tool.get("name")}})

    return BaseCallbackHandler.from_methods(
        {
            "handleLLMStart": handle_llm_start,
            "handleChainStart": handle_chain_start,
            "handleAgentAction": handle_agent_action,
            "handleToolStart": handle_tool_start,
        }
    )


def make_model(handler2: BaseCallbackHandler) -> BaseChatModel:
    """ChatOpenAI when OPENAI_API_KEY is set, else the scripted model with LangChain's tokens."""
    if os.environ.get("OPENAI_API_KEY"):
        from otelchain.chat_models import ChatOpenAI

        model: BaseChatModel = ChatOpenAI(temperature=0, callbacks=[handler2], streaming=True)
        return model
    # streaming=True is needed to enable on_llm_new_token (handleLLMNewToken).
    return FakeListChatModel(SEED_TOKENS, callbacks=[handler2], streaming=True)


def run() -> dict[str, Any]:
    handler1 = CustomHandler()
    handler2 = make_handler2()

    # You can restrict callbacks to a particular object by passing it upon creation.
    model = make_model(handler2)  # this will issue handler2 callbacks related to this model
    tools = [Calculator()]
    agent_prompt = ZeroShotAgent.create_prompt(tools)
    llm_chain = LLMChain(
        llm=model,
        prompt=agent_prompt,
        callbacks=[handler2],  # this will issue handler2 callbacks related to this chain
    )
    # As in LangChain's example, allowed_tools names "search": it only informs the agent; the executor
    # still runs its own tools (the calculator).
    agent = ZeroShotAgent(llm_chain=llm_chain, allowed_tools=["search"])
    agent_executor = AgentExecutor.from_agent_and_tools(agent=agent, tools=tools)

    # handler1, passed with the request, is used for all callbacks related to the agent and
    # every object involved in its execution: the Tool, the LLMChain and the model. handler2
    # is only used for the LLMChain and the model, since it was given to them upon creation.
    result = agent_executor.call({"input": "What is 2 to the power of 8"}, callbacks=[handler1])
    print(dict(result))
    # The run id travels on the result without being one of its keys (LangChain's `__run`).
    assert result.run_info is not None
    print({"runId": str(result.run_info.run_id)})
    return result


if __name__ == "__main__":
    run()

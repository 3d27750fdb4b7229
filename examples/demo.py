"""The README's demo: the seed's calculator agent, seen three ways.

1. verbose console output (LangChain's `[chain/start] [1:chain:agent_executor > ...]` lines),
   rendered from the runs' spans;
2. the trace as a span tree (ConsoleSpanTreeExporter), or exported over OTLP when
   OTEL_EXPORTER_OTLP_ENDPOINT is set (e.g. http://localhost:4317 for the docker-compose stack);
3. the result with its run id, trace id and span id.

No key and no server needed: a scripted chat model streams the seed's tokens. With OPENAI_API_KEY
set, ChatOpenAI answers instead.

    bash scripts/demo.sh          (or: python examples/demo.py)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.tools import Calculator
from otelchain.tracing import configure, instrument, uninstrument

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_callbacks import SEED_TOKENS  # the seed's streamed tokens, beside this file


def main() -> None:
    provider = configure(service_name="otelchain-demo")  # console span tree unless an endpoint is set
    instrument(provider)  # every run in the app becomes a span, no code change
    try:
        if os.environ.get("OPENAI_API_KEY"):
            from otelchain.chat_models import ChatOpenAI

            model = ChatOpenAI(temperature=0, streaming=True)
        else:
            from otelchain.chat_models import FakeListChatModel

            model = FakeListChatModel(SEED_TOKENS, streaming=True)
        tools = [Calculator()]
        llm_chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
        agent = ZeroShotAgent(llm_chain=llm_chain, allowed_tools=[t.name for t in tools])
        # verbose=True: a console log of the executor and all its children (chains, model, tool).
        executor = AgentExecutor.from_agent_and_tools(agent=agent, tools=tools, verbose=True)

        result = executor.call({"input": "What is 2 to the power of 8"})
        provider.force_flush()
        info = result.run_info
        print()
        print("result:", dict(result))
        if info is not None:
            print(f"run_id={info.run_id} trace_id={info.trace_id} span_id={info.span_id}")
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint:
            print(f"spans exported over OTLP to {endpoint}")
    finally:
        uninstrument()


if __name__ == "__main__":
    main()

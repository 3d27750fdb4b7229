"""The README's demo: LangChain's calculator agent, seen three ways.

1. verbose console output (LangChain's `[chain/start] [1:chain:agent_executor > ...]` lines),
   rendered from the runs' spans;
2. the trace as a span tree (ConsoleSpanTreeExporter), or exported over OTLP when
   OTEL_EXPORTER_OTLP_ENDPOINT is set (e.g. http://localhost:4317 for the docker-compose stack);
3. the result with its run id, trace id and span id.

No key and no server needed: a scripted chat model streams LangChain's tokens. With OPENAI_API_KEY
set, ChatOpenAI answers instead. When exporting, the demo says how many spans the collector accepted
(`otelchain.tracing.health()`), and exits 1 if spans were lost: "N spans exported", never a guess.

    bash scripts/demo.sh          (or: python examples/demo.py)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.tools import Calculator
from otelchain.tracing import configure, health, instrument, uninstrument

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_callbacks import SEED_TOKENS  # LangChain's streamed tokens, beside this file


def main() -> None:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    # The console span tree, or OTLP when an endpoint is set (gRPC on port 4317, else HTTP);
    # an export gives up after 5 s.
    provider = configure(service_name="otelchain-demo", timeout=5)
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
        if endpoint:
            counts = health()  # what the exporters configure() set up delivered, and what they lost
            lost = counts.spans_export_failed + counts.spans_dropped
            if lost or not counts.spans_exported:
                print(
                    f"export FAILED: {lost} spans could not be delivered to {endpoint} "
                    f"({counts.spans_exported} delivered); is the collector running? (see the log above)",
                    file=sys.stderr,
                )
                sys.exit(1)
            print(f"{counts.spans_exported} spans exported over OTLP to {endpoint}")
    finally:
        uninstrument()


if __name__ == "__main__":
    main()

"""What the console costs: the verbose log (on the app's thread) and the span tree (on the exporter's).

CPU time per run (so other load on the machine does not count), fake models, output to memory.

    .venv/bin/python benchmarks/bench_console.py
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.callbacks import ConsoleCallbackHandler
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.tools import Calculator
from otelchain.tracing import ConsoleSpanTreeExporter, OpenTelemetryCallbackHandler

STEP_1 = "I can use the calculator tool to solve this.\nAction: calculator\nAction Input: 2^8"
STEP_2 = "That was easy!\nFinal Answer: 256"


def agent() -> AgentExecutor:
    tools = [Calculator()]
    chain = LLMChain(
        llm=FakeListChatModel([STEP_1, STEP_2], streaming=True), prompt=ZeroShotAgent.create_prompt(tools)
    )
    return AgentExecutor.from_agent_and_tools(
        agent=ZeroShotAgent(llm_chain=chain, allowed_tools=["calculator"]), tools=tools
    )


def ms_per_call(fn: Callable[[], object], n: int = 100) -> float:
    for _ in range(10):
        fn()
    rounds = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(n):
            fn()
        rounds.append((time.process_time() - started) / n * 1e3)
    return statistics.median(rounds)


class Null(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def traced(exporter: SpanExporter) -> float:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # inline, to measure the render
    handler = OpenTelemetryCallbackHandler(provider)
    executor = agent()
    return ms_per_call(lambda: executor.call({"input": "What is 2 to the power of 8"}, callbacks=[handler]))


def main() -> None:
    executor = agent()
    bare = ms_per_call(lambda: executor.call({"input": "What is 2 to the power of 8"}))
    verbose = ConsoleCallbackHandler(io.StringIO())
    logged = ms_per_call(lambda: executor.call({"input": "What is 2 to the power of 8"}, callbacks=[verbose]))
    lines = verbose.stream.getvalue().count("\n[") + 1  # type: ignore[attr-defined]
    per_run = lines // (10 + 5 * 100)
    null, tree = traced(Null()), traced(ConsoleSpanTreeExporter(io.StringIO()))
    print(f"agent run, no handler:           {bare:7.3f} ms")
    extra = logged - bare
    print(f"verbose log ({per_run} lines per run):   +{extra:6.3f} ms ({extra / per_run:.3f} ms a line)")
    print(f"span tree (6 spans, inline):     +{tree - null:6.3f} ms per trace over a null exporter")


if __name__ == "__main__":
    main()

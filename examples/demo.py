"""The README's demo: LangChain's calculator agent, seen three ways.

1. verbose console output (LangChain's `[chain/start] [1:chain:agent_executor > ...]` lines),
   rendered from the runs' spans;
2. the trace as a span tree (ConsoleSpanTreeExporter), or exported over OTLP when
   OTEL_EXPORTER_OTLP_ENDPOINT is set (e.g. http://localhost:4317 for the docker-compose stack);
3. the result with its run id, trace id and span id.

No key and no server needed: a scripted chat model streams LangChain's tokens. With OPENAI_API_KEY
set, ChatOpenAI answers instead. When exporting, the demo counts what the collector accepted and
says so (and exits 1 if spans were lost): "N spans exported", never a guess.

    bash scripts/demo.sh          (or: python examples/demo.py)
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.tools import Calculator
from otelchain.tracing import configure, instrument, uninstrument

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_callbacks import SEED_TOKENS  # LangChain's streamed tokens, beside this file


class CountingExporter(SpanExporter):
    """Wraps an exporter and counts the spans it delivered and the spans it failed to deliver."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = self.failed = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.exported += len(spans)
            else:
                self.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def otlp_exporter(endpoint: str) -> SpanExporter:
    """The OTLP exporter the environment asks for: gRPC when OTEL_EXPORTER_OTLP_PROTOCOL says so or
    the endpoint is on port 4317, else HTTP (endpoint and headers come from the OTEL_* variables)."""
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol is None:
        protocol = "grpc" if urlsplit(endpoint).port == 4317 else "http/protobuf"
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc(timeout=5)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http(timeout=5)


def main() -> None:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    counting = CountingExporter(otlp_exporter(endpoint)) if endpoint else None
    # Console span tree unless an endpoint is set (then the counted OTLP exporter).
    provider = configure(service_name="otelchain-demo", exporter=counting)
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
        if counting is not None:
            if counting.failed or not counting.exported:
                print(
                    f"export FAILED: {counting.failed} spans could not be delivered to {endpoint} "
                    f"({counting.exported} delivered); is the collector running? (see the log above)",
                    file=sys.stderr,
                )
                sys.exit(1)
            print(f"{counting.exported} spans exported over OTLP to {endpoint}")
    finally:
        uninstrument()


if __name__ == "__main__":
    main()

"""LangChain's agent example with spans: LangChain's own handlers print as before, and every run
(agent executor, LLM chain steps, chat model with its streamed tokens, calculator tool) becomes
an OpenTelemetry span, printed as a tree (or exported when OTEL_EXPORTER_OTLP_ENDPOINT is set).

    python examples/agent_spans.py
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 python examples/agent_spans.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from otelchain.tracing import configure, instrument

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_callbacks import run  # LangChain's agent example, beside this file


def main() -> None:
    provider = configure(service_name="otelchain-agent")  # console tree unless an endpoint is set
    instrument(provider)  # no change to the example's code: every run becomes a span
    result = run()
    info = result.run_info
    assert info is not None
    print(f"trace_id={info.trace_id} root span_id={info.span_id}")
    provider.force_flush()


if __name__ == "__main__":
    main()

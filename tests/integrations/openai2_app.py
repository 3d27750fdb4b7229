"""Run by test_client_generations.py inside .venv-openai2 (openai 2.x sends through httpx):
an instrumented LangChain app against the loopback server; prints its spans as JSON lines."""

from __future__ import annotations

import asyncio
import json
import sys

import openai
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelchain.tracing import instrument


def main(base_url: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    instrument(provider)
    chat = ChatOpenAI(model="m", api_key="sk-test", base_url=base_url, max_retries=0)
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | chat
    chain.invoke({"q": "a"})
    list(chain.stream({"q": "b"}))
    asyncio.run(chain.ainvoke({"q": "c"}))
    print(json.dumps({"openai": openai.__version__}))
    for span in exporter.get_finished_spans():
        parent = span.parent.span_id if span.parent else None
        print(json.dumps({"name": span.name, "id": span.context.span_id, "parent": parent}))


if __name__ == "__main__":
    main(sys.argv[1])

"""End to end through the deployment we ship: otelchain → the collector running collector-config.yaml →
Jaeger v2, read back through Jaeger's query API (api/v3, raw traces).

The agent example runs as a user runs it (a subprocess, OTLP/HTTP and OTLP/gRPC to the collector); its
calculator agent and a LangChain app run in-process with `configure()` sending to the collector and to
memory, and every span must arrive whole: ids, parents, names, kinds, status, every attribute and event.
The two-service example lands as one trace holding both services.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import examples.agent_callbacks as agent_example
import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan

from tests._servers.backends import printed_trace_id, run_example
from tests._servers.collector_jaeger import Collector, Jaeger, StoredSpan
from tests._servers.get_server import serving
from tests.helpers import SEED_STEP_1, SEED_STEP_2
from tests.helpers.export import traced_to

PROTOCOLS = ["http/protobuf", "grpc"]
AGENT_NAMES = sorted(
    ["invoke_agent agent_executor", "execute_tool calculator", *["llm_chain", "chat fake-chat"] * 2]
)


def _endpoint(collector: Collector, protocol: str) -> str:
    return collector.otlp_grpc_endpoint if protocol == "grpc" else collector.otlp_http_endpoint


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def assert_arrived_whole(sent: Sequence[ReadableSpan], jaeger: Jaeger, service: str) -> list[StoredSpan]:
    """Every span the app sent is in Jaeger with the same ids, parent, name, kind, status, resource
    service, attributes and events; and Jaeger holds no other span of those traces."""
    stored: list[StoredSpan] = []
    trace_ids = {format(s.get_span_context().trace_id, "032x") for s in sent}  # type: ignore[union-attr]
    for trace_id in sorted(trace_ids):
        expect = sum(1 for s in sent if format(s.get_span_context().trace_id, "032x") == trace_id)  # type: ignore[union-attr]
        got = jaeger.trace(trace_id, expect=expect)
        assert len(got) == expect, f"{trace_id}: {len(got)} of {expect} spans in Jaeger"
        stored.extend(got)
    by_id = {s.span_id: s for s in stored}
    for span in sent:
        context = span.get_span_context()
        assert context is not None
        got = by_id[format(context.span_id, "016x")]
        assert got.trace_id == format(context.trace_id, "032x")
        assert got.parent_id == (format(span.parent.span_id, "016x") if span.parent else None), span.name
        assert (got.name, got.kind, got.status) == (span.name, span.kind.name, span.status.status_code.name)
        assert got.service == service
        sent_attrs = {k: _plain(v) for k, v in (span.attributes or {}).items()}
        assert got.attributes == sent_attrs, span.name
        sent_events = [(e.name, {k: _plain(v) for k, v in (e.attributes or {}).items()}) for e in span.events]
        assert got.events == sent_events, span.name
    return stored


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_agent_example_through_the_collector(protocol: str, collector: Collector, jaeger: Jaeger) -> None:
    base = collector.otlp_grpc_endpoint if protocol == "grpc" else collector.otlp_http_base
    proc = run_example(
        "agent_spans.py", OTEL_EXPORTER_OTLP_ENDPOINT=base, OTEL_EXPORTER_OTLP_PROTOCOL=protocol
    )
    assert "{'output': '256'}" in proc.stdout and "trace " not in proc.stdout  # exported, not printed
    assert "Failed to export" not in proc.stderr, proc.stderr  # the collector takes its metrics too
    trace_id = printed_trace_id(proc.stdout)
    spans = jaeger.trace(trace_id, expect=6)
    assert sorted(s.name for s in spans) == AGENT_NAMES
    assert {s.service for s in spans} == {"otelchain-agent"}
    by_id = {s.span_id: s for s in spans}
    [root] = [s for s in spans if s.parent_id is None]
    assert root.name == "invoke_agent agent_executor"
    parents = sorted((s.name, by_id[s.parent_id].name) for s in spans if s.parent_id)
    assert parents == sorted(
        [("llm_chain", root.name)] * 2
        + [("execute_tool calculator", root.name)]
        + [("chat fake-chat", "llm_chain")] * 2
    )
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["agent.action.0.tool"] == "calculator"
    assert root.attributes["agent.finish.output"] == "256"
    [tool] = [s for s in spans if s.name == "execute_tool calculator"]
    assert tool.attributes["gen_ai.tool.name"] == "calculator"
    assert {(s.name, s.kind) for s in spans} == {
        ("invoke_agent agent_executor", "INTERNAL"),
        ("llm_chain", "INTERNAL"),
        ("chat fake-chat", "CLIENT"),
        ("execute_tool calculator", "INTERNAL"),
    }
    assert {s.status for s in spans} <= {"UNSET", "OK"}
    chats = [s for s in spans if s.name == "chat fake-chat"]
    for chat, chunks in zip(chats, (SEED_STEP_1, SEED_STEP_2), strict=True):
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.request.model"] == "fake-chat"
        tokens = [attrs for name, attrs in chat.events if name == "new_token"]
        assert [t["token.index"] for t in tokens] == list(range(len([c for c in chunks if c])))
        assert "".join(t["token.text"] for t in tokens) == "".join(chunks)
        assert chat.attributes["gen_ai.usage.output_tokens"] == len(chunks)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_calculator_agent_arrives_whole(protocol: str, collector: Collector, jaeger: Jaeger) -> None:
    service = f"otelchain-e2e-agent-{protocol.split('/')[0]}"
    with traced_to(_endpoint(collector, protocol), protocol, service) as (_, memory):
        result = agent_example.run()
    assert dict(result) == {"output": "256"}
    sent = memory.get_finished_spans()
    assert sorted(s.name for s in sent) == AGENT_NAMES
    assert_arrived_whole(sent, jaeger, service)


@contextmanager
def weather_service() -> Iterator[str]:
    """The LangChain example's HTTP weather service on 127.0.0.1 (its base URL), stopped on exit."""
    from examples.langchain_app import WeatherService

    with serving(WeatherService) as url:
        yield url


def test_langchain_app_arrives_whole(collector: Collector, jaeger: Jaeger) -> None:
    """examples/langchain_app.py's chain (streamed) and tool-calling agent, with configure() pointing
    at the collector and the httpx instrumentation on the same provider."""
    from examples.langchain_app import ScriptedChat, scripted_replies
    from langchain.agents import create_agent
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    service = "otelchain-e2e-langchain"
    with (
        weather_service() as base,
        traced_to(collector.otlp_grpc_endpoint, "grpc", service) as (provider, memory),
    ):
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        try:

            @tool
            def weather(city: str) -> str:
                """Current weather for a city."""
                return httpx.get(f"{base}/weather/{city}").text

            model = ScriptedChat(messages=scripted_replies())
            chain = ChatPromptTemplate.from_messages([("user", "Greet me in {language}.")]) | model
            greeting = "".join((chain | StrOutputParser()).stream({"language": "French"}))
            agent = create_agent(model, [weather], name="weather_assistant")
            answer = agent.invoke({"messages": [("user", "What's the weather in Paris?")]})
        finally:
            HTTPXClientInstrumentor().uninstrument()
    assert greeting == "Bonjour ! Ravi de vous aider."
    assert answer["messages"][-1].content == "It is sunny in Paris, 21 °C."
    sent = memory.get_finished_spans()
    stored = assert_arrived_whole(sent, jaeger, service)
    assert len({s.trace_id for s in stored}) == 2  # the chain's trace and the agent's

    chats = [s for s in stored if s.attributes.get("gen_ai.operation.name") == "chat"]
    streamed = [s for s in chats if any(name == "new_token" for name, _ in s.events)]
    assert streamed, [s.name for s in stored]
    tokens = [attrs["token.text"] for name, attrs in streamed[0].events if name == "new_token"]
    assert "".join(tokens) == greeting
    [tool_span] = [s for s in stored if s.attributes.get("gen_ai.operation.name") == "execute_tool"]
    assert tool_span.attributes["gen_ai.tool.name"] == "weather"
    http_spans = [s for s in stored if s.kind == "CLIENT" and s.name.startswith("GET")]
    assert [s.parent_id for s in http_spans] == [tool_span.span_id], "the HTTP call nests under its tool"


def test_two_services_land_as_one_trace(collector: Collector, jaeger: Jaeger) -> None:
    proc = run_example("across_services.py", OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_http_base)
    assert "Sunny, 21°C." in proc.stdout
    trace_id = printed_trace_id(proc.stdout)
    spans = jaeger.trace(trace_id, expect=7)
    assert len(spans) == 7, [s.name for s in spans]
    assert {s.trace_id for s in spans} == {trace_id}
    services = {s.name: s.service for s in spans}
    assert services.pop("GET /weather") == "weather-service"
    assert set(services.values()) == {"otelchain-agent"}
    by_name = {s.name: s for s in spans}
    assert by_name["GET /weather"].parent_id == by_name["execute_tool weather"].span_id
    assert by_name["GET /weather"].kind == "SERVER"

"""`OtelchainInstrumentor`: the OpenTelemetry ecosystem's switch for otelchain. In process it is
idempotent and undoable; under ``opentelemetry-instrument`` (a subprocess with
opentelemetry-distro exporting to a loopback OTLP backend) it is discovered with no code change,
one trace arrives in one service with the httpx client span nested, and
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` turns it off."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest

from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tools import Tool
from otelchain.tracing import (
    OtelchainInstrumentor,
    http_propagation_enabled,
    instrumented_handler,
)
from tests._servers.get_server import get_server
from tests._servers.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.helpers import make_traced, tree

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"


def chain() -> LLMChain:
    return LLMChain(llm=FakeListLLM(["3"]), prompt=PromptTemplate.from_template("1 + {n} ="))


@pytest.fixture
def instrumentor() -> Iterator[OtelchainInstrumentor]:
    inst = OtelchainInstrumentor()
    yield inst
    if inst.is_instrumented_by_opentelemetry:
        inst.uninstrument()


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """An HTTP service on 127.0.0.1 recording the headers of every GET."""
    seen: list[dict[str, str]] = []
    with get_server(b"sunny", seen) as url:
        yield url, seen


def test_registered_as_an_opentelemetry_instrumentor() -> None:
    found = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "otelchain"]
    assert len(found) == 1
    assert found[0].load() is OtelchainInstrumentor
    assert OtelchainInstrumentor() is OtelchainInstrumentor()  # a singleton, as every instrumentor


def test_instrument_is_idempotent_and_undoable(instrumentor: OtelchainInstrumentor) -> None:
    t = make_traced()
    instrumentor.instrument(tracer_provider=t.provider)
    handler = instrumented_handler()
    instrumentor.instrument(tracer_provider=t.provider)  # a no-op (BaseInstrumentor warns)
    assert instrumented_handler() is handler
    chain().call({"n": 2})
    assert tree(t.spans) == [
        ("invoke_workflow llm_chain", None),
        ("text_completion fake-list", "invoke_workflow llm_chain"),
    ]

    instrumentor.uninstrument()
    assert instrumented_handler() is None
    chain().call({"n": 2})
    assert len(t.spans) == 2  # nothing after uninstrument

    instrumentor.instrument(tracer_provider=t.provider)  # and again
    chain().call({"n": 2})
    assert len(t.spans) == 4


def test_handler_options_pass_through_and_unknown_keywords_are_ignored(
    instrumentor: OtelchainInstrumentor,
) -> None:
    t = make_traced()
    instrumentor.instrument(tracer_provider=t.provider, capture_content=False, meter_provider=None)
    chain().call({"n": 2})
    assert t.spans and all("input.value" not in (s.attributes or {}) for s in t.spans)


def test_propagate_http_puts_the_tool_span_in_traceparent(
    instrumentor: OtelchainInstrumentor, echo_server: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = echo_server
    t = make_traced()
    instrumentor.instrument(tracer_provider=t.provider, propagate_http=True)
    assert http_propagation_enabled()
    tool = Tool(name="weather", description="forecast", func=lambda q: httpx.get(url).text)
    assert tool.run("Paris") == "sunny"
    span = t.by_name("execute_tool weather")
    assert span.context is not None
    expected = f"-{span.context.trace_id:032x}-{span.context.span_id:016x}-"
    assert expected in seen[0]["traceparent"]

    instrumentor.uninstrument()
    assert not http_propagation_enabled()
    tool.run("Paris")
    assert "traceparent" not in seen[1]  # undone
    assert getattr(httpx.Client.send, "__otelchain_original__", None) is None  # original method back


def test_propagation_is_opt_in(
    instrumentor: OtelchainInstrumentor,
    echo_server: tuple[str, list[dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTELCHAIN_PROPAGATE_HTTP", raising=False)
    url, seen = echo_server
    instrumentor.instrument(tracer_provider=make_traced().provider)
    Tool(name="weather", description="forecast", func=lambda q: httpx.get(url).text).run("Paris")
    assert "traceparent" not in seen[0]


# --- opentelemetry-instrument in a subprocess ------------------------------------------------

ZERO_CODE_APP = """
import httpx
from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.tools import Tool

tools = [Tool(name="weather", description="forecast", func=lambda city: httpx.get(URL).text)]
model = FakeListChatModel(["Action: weather\\nAction Input: Paris", "Final Answer: sunny"])
agent = ZeroShotAgent(llm_chain=LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools)))
result = AgentExecutor.from_agent_and_tools(agent=agent, tools=tools).call({"input": "Weather?"})
print("trace_id", result.run_info.trace_id)
"""

# What the README said to do, run under opentelemetry-instrument: must not make a second provider.
README_CODE_APP = (
    """
from otelchain.tracing import configure, instrument
provider = configure(service_name="ignored-the-sdk-has-one")
instrument(provider)
"""
    + ZERO_CODE_APP
)


def run_instrumented(
    app: str, backend: OtlpReceiver, url: str, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "LANGCHAIN_", "OPENAI_"))}
    clean |= {
        "OTEL_SERVICE_NAME": "zero-code-app",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": backend.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "PYTHONUNBUFFERED": "1",
    } | env
    code = f"URL = {url!r}\n" + textwrap.dedent(app)
    proc = subprocess.run(
        [str(INSTRUMENT), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans}


@pytest.mark.parametrize("app", [ZERO_CODE_APP, README_CODE_APP], ids=["no-code", "readme-code"])
def test_opentelemetry_instrument_runs_otelchain_in_one_trace_and_service(
    app: str, echo_server: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = echo_server
    with OtlpReceiver() as backend:
        proc = run_instrumented(app, backend, url)
        trace_id = proc.stdout.split("trace_id ")[1].split()[0]
        # executor, 2 chains, 2 chats, the tool, the httpx client span
        spans = [s for s in backend.wait_for(7) if s.trace_id == trace_id]
    assert "TracerProvider" not in proc.stderr, proc.stderr  # no "Overriding ..." from the SDK
    assert "otelchain tracing:" not in proc.stderr, proc.stderr  # nor a warning of ours
    names = _by_name(spans)
    assert {"invoke_agent agent_executor", "execute_tool weather", "llm_chain", "chat fake-chat"} <= set(
        names
    )
    assert {s.service for s in spans} == {"zero-code-app"}  # one provider: the SDK's
    client = [s for s in spans if s.kind == "CLIENT" and s.name.startswith("GET")]
    assert len(client) == 1, [(s.name, s.kind) for s in spans]
    tool = names["execute_tool weather"]
    assert client[0].parent_id == tool.span_id  # the httpx span nests under the tool run
    assert seen[0]["traceparent"].startswith(f"00-{trace_id}-{client[0].span_id}-")
    assert len(spans) == 7, [s.name for s in spans]


def test_disabled_instrumentations_turns_otelchain_off(echo_server: tuple[str, list[dict[str, str]]]) -> None:
    url, _ = echo_server
    with OtlpReceiver() as backend:
        run_instrumented(
            ZERO_CODE_APP,
            backend,
            url,
            OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="otelchain",
            OTELCHAIN_TRACING="true",  # the disable switch wins over the env hook too
        )
        spans = backend.wait_for(1)
    assert [s.kind for s in spans] == ["CLIENT"]  # httpx is still traced; otelchain is not


def test_a_handler_of_the_same_provider_in_callbacks_gives_one_tree(
    instrumentor: OtelchainInstrumentor,
) -> None:
    from otelchain.tracing import OpenTelemetryCallbackHandler

    t = make_traced()
    instrumentor.instrument(tracer_provider=t.provider)
    chain().call({"n": 2}, callbacks=[OpenTelemetryCallbackHandler(t.provider)])
    assert tree(t.spans) == [
        ("invoke_workflow llm_chain", None),
        ("text_completion fake-list", "invoke_workflow llm_chain"),
    ]


LANGCHAIN_APP = """
import httpx
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

@tool
def weather(city: str) -> str:
    \"\"\"The forecast for a city.\"\"\"
    return httpx.get(URL).text

chain = RunnableLambda(lambda q: q["city"], name="pick_city") | weather
print(chain.invoke({"city": "Paris"}))
"""


def test_opentelemetry_instrument_covers_langchain_core(
    echo_server: tuple[str, list[dict[str, str]]],
) -> None:
    url, _ = echo_server
    with OtlpReceiver() as backend:
        proc = run_instrumented(LANGCHAIN_APP, backend, url)
        spans = backend.wait_for(4)
    assert proc.stdout.strip() == "sunny"
    names = _by_name(spans)
    assert {"execute_tool weather", "pick_city"} <= set(names), [s.name for s in spans]
    assert len({s.trace_id for s in spans}) == 1 and {s.service for s in spans} == {"zero-code-app"}
    [client] = [s for s in spans if s.kind == "CLIENT"]
    assert client.parent_id == names["execute_tool weather"].span_id


def test_propagation_covers_async_httpx_and_requests(
    echo_server: tuple[str, list[dict[str, str]]],
) -> None:
    import asyncio

    import requests

    from otelchain.tracing import disable_http_propagation, enable_http_propagation

    url, seen = echo_server
    t = make_traced()

    async def fetch_async(city: str) -> str:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).text

    tools = [
        Tool(name="async_httpx", description="forecast", func=None, coroutine=fetch_async),
        Tool(name="requests", description="forecast", func=lambda city: requests.get(url, timeout=10).text),
    ]
    enable_http_propagation()
    try:
        assert asyncio.run(tools[0].arun("Paris", callbacks=[t.handler])) == "sunny"
        assert tools[1].run("Paris", callbacks=[t.handler]) == "sunny"
        own = {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
        keeps = Tool(name="own", description="forecast", func=lambda c: requests.get(url, headers=own).text)
        assert keeps.run("Paris", callbacks=[t.handler]) == "sunny"  # inside a run: a span is current
    finally:
        disable_http_propagation()
    for headers, name in zip(seen, ["execute_tool async_httpx", "execute_tool requests"], strict=False):
        context = t.by_name(name).context
        assert context is not None
        assert headers["traceparent"].startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    assert seen[2]["traceparent"] == "00-" + "1" * 32 + "-" + "2" * 16 + "-01"  # a header already set is kept
    assert getattr(requests.Session.send, "__otelchain_original__", None) is None


def test_a_bad_otelchain_variable_under_the_launcher_warns_and_stops_nothing(
    echo_server: tuple[str, list[dict[str, str]]],
) -> None:
    """``OTELCHAIN_CONVENTIONS=nope``: one warning naming it, otelchain traces with the default,
    and the other instrumentations (httpx here) still run: the launcher's "Failed to auto
    initialize" would have stopped them all."""
    url, _ = echo_server
    with OtlpReceiver() as backend:
        proc = run_instrumented(ZERO_CODE_APP, backend, url, OTELCHAIN_CONVENTIONS="nope")
        spans = backend.wait_for(7)
    assert "Failed to auto initialize" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len([s for s in spans if s.kind == "CLIENT" and s.name.startswith("GET")]) == 1  # httpx's
    assert "execute_tool weather" in {s.name for s in spans}  # otelchain, with the default names
    warnings = [line for line in proc.stderr.splitlines() if "OTELCHAIN_CONVENTIONS" in line]
    assert len(warnings) == 1, proc.stderr
    assert "OTELCHAIN_CONVENTIONS='nope'" in warnings[0] and "gen_ai" in warnings[0]

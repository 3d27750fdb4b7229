"""The seed's agent, traced with `configure()` + `instrument()`, read back from a real Phoenix.

Each path (OTLP/HTTP, OTLP/gRPC, and both through the rotel collector) must deliver the whole run
tree: span names, parent ids, `new_token` events with their text, `agent.action.*` attributes,
GenAI and OpenInference attributes, and ERROR status on a failing tool. An unreachable collector
must not change the app's result nor slow it down.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import examples.agent_callbacks as seed
import pytest
from opentelemetry.sdk.trace import TracerProvider

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.tools import Calculator, Tool
from otelchain.tracing import configure, instrument, uninstrument
from tests._servers.backends import Phoenix, Rotel, free_port
from tests._servers.openai_server import OpenAIServer, Reply

PATHS = ["http", "grpc", "rotel-http", "rotel-grpc"]


def _endpoint(path: str, phoenix: Phoenix, request: pytest.FixtureRequest) -> tuple[str, str]:
    """(endpoint, OTEL protocol) that `configure()` gets for a path."""
    target: Phoenix | Rotel = request.getfixturevalue("rotel") if path.startswith("rotel") else phoenix
    if path.endswith("grpc"):
        return target.otlp_grpc_endpoint, "grpc"
    return target.otlp_http_endpoint, "http/protobuf"


@contextmanager
def _traced(
    endpoint: str, protocol: str, service: str, timeout: float = 5, conventions: str = "all"
) -> Iterator[TracerProvider]:
    """configure() an OTLP provider (not global) and instrument() every run with it (every naming
    scheme unless ``conventions`` says otherwise); flush after."""
    provider = configure(
        service_name=service,
        exporter="otlp",
        endpoint=endpoint,
        protocol=protocol,
        timeout=timeout,
        set_global=False,
        schedule_delay_millis=50,
    )
    instrument(provider, conventions=conventions)
    try:
        yield provider
    finally:
        uninstrument()
        provider.force_flush(int(timeout * 1000))
        provider.shutdown()


def _dump(spans: list[dict[str, Any]]) -> str:
    return json.dumps(spans, indent=1, default=str)[:6000]


def _t(stamp: str) -> datetime:
    """Phoenix's ISO timestamps (which omit zero microseconds, so never compare them as text)."""
    return datetime.fromisoformat(stamp)


def _by_name(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for span in sorted(spans, key=lambda s: _t(s["start_time"])):
        out.setdefault(span["name"], []).append(span)
    return out


def _assert_agent_kinds(spans: list[dict[str, Any]], model: str) -> None:
    """The calculator agent's spans as Phoenix kinds them (from ``openinference.span.kind``)."""
    kinds = {s["name"]: s["span_kind"] for s in spans}
    assert kinds == {
        "invoke_agent agent_executor": "AGENT",
        "llm_chain": "CHAIN",
        f"chat {model}": "LLM",
        "execute_tool calculator": "TOOL",
    }, _dump(spans)


def _tokens(span: dict[str, Any]) -> list[dict[str, Any]]:
    events = [e["attributes"] for e in span["events"] if e["name"] == "new_token"]
    return sorted(events, key=lambda a: a["token.index"])


def test_the_lean_default_renders_fully_in_phoenix(phoenix: Phoenix) -> None:
    """The default writes GenAI attributes once (plus a kind and input/output where GenAI has
    none); Phoenix derives its view from them: kinds, messages, token counts, tool and chain
    input/output."""
    endpoint, protocol = phoenix.otlp_http_endpoint, "http/protobuf"
    with _traced(endpoint, protocol, "otelchain-e2e-lean", conventions="gen_ai"):
        result = seed.run()
    info = result.run_info
    assert info is not None
    spans = phoenix.spans(info.trace_id, expect=6)
    model = FakeListChatModel(["x"]).model_name
    _assert_agent_kinds(spans, model)
    named = _by_name(spans)
    for span in spans:  # each fact once: no OpenInference duplicates of GenAI attributes on the wire
        assert "otelchain.parent_run_id" not in span["attributes"]
    for chat in named[f"chat {model}"]:
        a = chat["attributes"]
        assert a["llm.token_count.prompt"] > 0 and a["llm.token_count.completion"] > 0, _dump([chat])
        assert a.get("llm.input_messages") or a.get("llm.input_messages.0.message.role"), _dump([chat])
        assert a.get("llm.output_messages") or a.get("llm.output_messages.0.message.role"), _dump([chat])
    (tool,) = named["execute_tool calculator"]
    assert "2^8" in json.dumps(tool["attributes"]) and "256" in json.dumps(tool["attributes"]), _dump([tool])
    chain = named["llm_chain"][0]
    assert chain["attributes"]["input.value"] and chain["attributes"]["output.value"], _dump([chain])


@pytest.mark.parametrize("path", PATHS)
def test_seed_agent_run_tree_survives_export(
    path: str, phoenix: Phoenix, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    untraced = dict(seed.run())
    capsys.readouterr()
    endpoint, protocol = _endpoint(path, phoenix, request)
    with _traced(endpoint, protocol, f"otelchain-e2e-{path}"):
        result = seed.run()
    printed = capsys.readouterr().out
    assert dict(result) == untraced == {"output": "256"}
    assert "handleAgentAction" in printed  # the example's own handlers still ran
    info = result.run_info
    assert info is not None and info.trace_id and info.span_id

    spans = phoenix.spans(info.trace_id, expect=6)
    names = Counter(s["name"] for s in spans)
    model = FakeListChatModel(["x"]).model_name
    assert names == {
        "invoke_agent agent_executor": 1,
        "llm_chain": 2,
        f"chat {model}": 2,
        "execute_tool calculator": 1,
    }, _dump(spans)

    # The span tree is the run tree: parents by span id and by run id agree.
    by_id = {s["context"]["span_id"]: s for s in spans}
    assert all(s["context"]["trace_id"] == info.trace_id for s in spans)
    named = _by_name(spans)
    (agent,) = named["invoke_agent agent_executor"]
    (tool,) = named["execute_tool calculator"]
    assert agent["context"]["span_id"] == info.span_id
    assert agent["parent_id"] is None
    assert [c["parent_id"] for c in named["llm_chain"]] == [info.span_id] * 2
    assert tool["parent_id"] == info.span_id
    chains = named["llm_chain"]
    chats = named[f"chat {model}"]
    assert [c["parent_id"] for c in chats] == [c["context"]["span_id"] for c in chains]
    for span in spans:
        if span["parent_id"] is not None:
            parent = by_id[span["parent_id"]]
            assert span["attributes"]["otelchain.parent_run_id"] == parent["attributes"]["otelchain.run_id"]
        assert span["status_code"] in ("OK", "UNSET"), _dump([span])
    # Execution order: first chain step, then the tool, then the second step.
    order = [chains[0]["end_time"], tool["start_time"], tool["end_time"], chains[1]["start_time"]]
    assert [_t(x) for x in order] == sorted(_t(x) for x in order)

    # Tokens as span events: every token (a chunk with text), in order, with its text; the text
    # is the model output. The seed's empty chunks are no tokens.
    for chat, chunks in zip(chats, seed.SEED_TOKENS, strict=True):
        expected = [c for c in chunks if c]
        tokens = _tokens(chat)
        assert [t["token.index"] for t in tokens] == list(range(len(expected)))
        text = "".join(t.get("token.text", "") for t in tokens)
        assert text == "".join(expected)
        attrs = chat["attributes"]
        assert attrs["llm.output_messages.0.message.content"] == text
        assert attrs["otelchain.streamed_tokens"] == len(expected)
        assert attrs["gen_ai.response.time_to_first_chunk"] >= 0
    # Agent actions as attributes on the executor's span.
    agent_attrs = agent["attributes"]
    assert agent_attrs["agent.action.count"] == 1
    assert agent_attrs["agent.action.0.tool"] == "calculator"
    assert agent_attrs["agent.action.0.tool_input"] == "2^8"
    assert agent_attrs["agent.action.0.log"].startswith("I can use the calculator tool")
    assert agent_attrs["agent.finish.output"] == "256"
    assert "Final Answer: 256" in agent_attrs["agent.finish.log"]

    # GenAI semantic conventions.
    assert agent_attrs["gen_ai.operation.name"] == "invoke_agent"
    assert agent_attrs["gen_ai.agent.name"] == "agent_executor"
    tool_attrs = tool["attributes"]
    assert tool_attrs["gen_ai.operation.name"] == "execute_tool"
    assert tool_attrs["gen_ai.tool.name"] == "calculator"
    assert tool_attrs["gen_ai.tool.description"]
    for chat, chunks in zip(chats, seed.SEED_TOKENS, strict=True):
        attrs = chat["attributes"]
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == model
        assert attrs["gen_ai.usage.input_tokens"] > 0
        assert attrs["gen_ai.usage.output_tokens"] == len(chunks)  # the scripted model counts chunks
        assert attrs["gen_ai.provider.name"]

    # OpenInference: Phoenix maps openinference.span.kind to its span_kind, and renders the rest.
    _assert_agent_kinds(spans, model)
    # OpenInference's format: a single-key input / output unwrapped, a plain string as is
    assert agent_attrs["input.value"] == "What is 2 to the power of 8"
    assert agent_attrs["output.value"] == "256"
    assert tool_attrs["input.value"] == "2^8" and tool_attrs["output.value"] == "256"
    assert tool_attrs["tool.name"] == "calculator"
    for chat in chats:
        attrs = chat["attributes"]
        assert attrs["llm.model_name"] == model
        assert attrs["llm.input_messages.0.message.role"] == "user"
        assert "What is 2 to the power of 8" in attrs["llm.input_messages.0.message.content"]
        assert attrs["llm.output_messages.0.message.role"] == "assistant"
        counts = (attrs["llm.token_count.prompt"], attrs["llm.token_count.completion"])
        assert attrs["llm.token_count.total"] == sum(counts)
        assert counts == (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"])

    # Span kinds as sent on the wire (Phoenix keeps only the OpenInference kind): rotel's log.
    if path.startswith("rotel"):
        wire = request.getfixturevalue("rotel").wire_spans(info.trace_id, expect=6)
        assert len(wire) == 6
        assert {(w["Name"], w["Kind"]) for w in wire} == {
            ("invoke_agent agent_executor", "SPAN_KIND_INTERNAL"),
            ("llm_chain", "SPAN_KIND_INTERNAL"),
            (f"chat {model}", "SPAN_KIND_CLIENT"),
            ("execute_tool calculator", "SPAN_KIND_INTERNAL"),
        }


class ToolFailure(RuntimeError):
    """The failing tool's error."""


def _explode(query: str) -> str:
    raise ToolFailure(f"tool failed on {query!r}")


def _failing_agent() -> AgentExecutor:
    """A scripted agent whose only step calls a tool that raises."""
    model = FakeListChatModel(
        ["I should use the explode tool.\nAction: explode\nAction Input: 42"], streaming=True
    )
    tools = [Tool(name="explode", description="Always fails.", func=_explode), Calculator()]
    chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
    return AgentExecutor.from_agent_and_tools(agent=ZeroShotAgent(llm_chain=chain), tools=tools)


@pytest.mark.parametrize("path", ["http", "grpc"])
def test_failing_tool_is_an_error_span(path: str, phoenix: Phoenix, request: pytest.FixtureRequest) -> None:
    endpoint, protocol = _endpoint(path, phoenix, request)
    secret = "sk-e2e-do-not-leak-0123456789"
    with _traced(endpoint, protocol, f"otelchain-e2e-error-{path}"), pytest.raises(ToolFailure, match="42"):
        _failing_agent().call(
            {"input": "blow up"},
            metadata={"api_key": secret, "session_id": f"s-{path}"},
            tags=["e2e", path],
        )
    # The run failed, so no RunInfo came back: find the trace by its unique session id.
    root = _find_root(phoenix, "session.id", f"s-{path}")
    spans = phoenix.spans(root["context"]["trace_id"], expect=4)
    named = _by_name(spans)
    assert set(named) >= {"invoke_agent agent_executor", "llm_chain", "execute_tool explode"}, _dump(spans)
    (tool,) = named["execute_tool explode"]
    assert tool["parent_id"] == root["context"]["span_id"]
    assert tool["status_code"] == "ERROR"
    assert "tool failed on '42'" in tool["status_message"]
    assert tool["attributes"]["error.type"].endswith("ToolFailure")
    exceptions = [e["attributes"] for e in tool["events"] if e["name"] == "exception"]
    assert exceptions and exceptions[0]["exception.type"].endswith("ToolFailure")
    assert "tool failed on '42'" in exceptions[0]["exception.message"]
    assert root["status_code"] == "ERROR" and root["attributes"]["error.type"].endswith("ToolFailure")
    assert all(s["status_code"] != "ERROR" for s in named["llm_chain"])
    assert root["attributes"]["otelchain.tags"] == ["e2e", path]
    assert secret not in json.dumps(spans), "a secret reached the backend"


def _find_root(phoenix: Phoenix, key: str, value: str, timeout: float = 20) -> dict[str, Any]:
    """The root span with attribute key == value, via the REST API's attribute filter."""
    deadline = time.monotonic() + timeout
    while True:
        resp = phoenix.client.get(
            "/v1/projects/default/spans",
            params={"parent_id": "null", "attribute": f"{key}:{value}", "limit": 10},
        )
        if resp.status_code == 200 and (data := resp.json()["data"]):
            assert len(data) == 1, _dump(data)
            return dict(data[0])
        if time.monotonic() > deadline:
            pytest.fail(f"no root span with {key}={value}: {resp.status_code} {resp.text[:500]}")
        time.sleep(0.2)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_unreachable_collector_changes_nothing(
    protocol: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Export to a closed 127.0.0.1 port: same result, no exception, and the app's thread never
    exports (so a dead collector cannot slow a call down): the batch processor's thread does."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    exporting: list[threading.Thread] = []
    for cls in (HttpExporter, GrpcExporter):

        def export(self: Any, spans: Any, _export: Any = cls.export) -> Any:
            exporting.append(threading.current_thread())
            return _export(self, spans)

        monkeypatch.setattr(cls, "export", export)
    untraced = dict(seed.run())
    port = free_port()  # nothing listens there
    endpoint = f"http://127.0.0.1:{port}" + ("/v1/traces" if protocol == "http/protobuf" else "")
    provider = configure(exporter="otlp", endpoint=endpoint, protocol=protocol, timeout=1, set_global=False)
    instrument(provider)
    try:
        result = seed.run()
        during_the_call = list(exporting)
    finally:
        uninstrument()
    assert dict(result) == untraced
    assert result.run_info is not None and result.run_info.trace_id  # spans were made, just not delivered
    assert threading.current_thread() not in during_the_call
    provider.shutdown()  # the last batch goes out (and fails) on the processor's thread
    assert exporting and threading.current_thread() not in exporting
    capsys.readouterr()


def test_ten_thousand_streamed_tokens_lose_no_text(phoenix: Phoenix) -> None:
    """Past the span's event budget tokens are coalesced; the backend still gets every character."""
    tokens = [f"t{i} " for i in range(10_000)]
    model = FakeListChatModel([tokens], streaming=True)
    with _traced(phoenix.otlp_http_endpoint, "http/protobuf", "otelchain-e2e-long-stream"):
        chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt([Calculator()]))
        result = chain.call({"input": "count", "agent_scratchpad": ""})
    assert result["text"] == "".join(tokens)
    assert result.run_info is not None and result.run_info.trace_id
    spans = {s["name"]: s for s in phoenix.spans(result.run_info.trace_id, expect=2)}
    chat = spans[f"chat {model.model_name}"]
    events = _tokens(chat)
    assert 0 < len(events) <= 128, len(events)  # the SDK's default event limit
    assert events[0] == {"token.index": 0, "token.text": "t0 "}
    assert "".join(e["token.text"] for e in events) == result["text"]
    assert sum(e.get("token.count", 1) for e in events) == 10_000
    covered = [(e["token.index"], e.get("token.count", 1)) for e in events]
    assert all(i + n == j for (i, n), (j, _) in itertools.pairwise(covered))
    assert chat["attributes"]["otelchain.streamed_tokens"] == 10_000


def test_content_capture_off_sends_no_content(phoenix: Phoenix, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    with _traced(phoenix.otlp_grpc_endpoint, "grpc", "otelchain-e2e-no-content"):
        result = seed.run()
    assert result.run_info is not None and result.run_info.trace_id
    spans = phoenix.spans(result.run_info.trace_id, expect=6)
    assert len(spans) == 6
    sent = json.dumps(spans)
    for content in ("What is 2 to the power of 8", "I can use the calculator", "That was easy", "2^8"):
        assert content not in sent, f"{content!r} reached the backend with capture off"
    chats = [s for s in spans if s["span_kind"] == "LLM"]
    assert [len(_tokens(c)) for c in sorted(chats, key=lambda s: _t(s["start_time"]))] == [
        len([c for c in t if c]) for t in seed.SEED_TOKENS
    ]
    assert all("token.text" not in t for c in chats for t in _tokens(c))
    agent = next(s for s in spans if s["span_kind"] == "AGENT")
    assert agent["attributes"]["agent.action.0.tool"] == "calculator"  # structure stays


async def test_concurrent_async_agents_keep_their_trees_apart(phoenix: Phoenix) -> None:
    def make() -> AgentExecutor:
        model = FakeListChatModel(seed.SEED_TOKENS, streaming=True)
        tools = [Calculator()]
        chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
        return AgentExecutor.from_agent_and_tools(agent=ZeroShotAgent(llm_chain=chain), tools=tools)

    with _traced(phoenix.otlp_grpc_endpoint, "grpc", "otelchain-e2e-async"):
        results = await asyncio.gather(*(make().acall({"input": f"q{i}"}) for i in range(4)))
    infos = [r.run_info for r in results]
    assert all(dict(r) == {"output": "256"} for r in results)
    assert all(i is not None and i.trace_id for i in infos)
    assert len({i.trace_id for i in infos if i}) == 4
    for i, info in enumerate(infos):
        assert info is not None and info.trace_id
        spans = phoenix.spans(info.trace_id, expect=6)
        assert len(spans) == 6, _dump(spans)
        ids = {s["context"]["span_id"] for s in spans}
        roots = [s for s in spans if s["parent_id"] is None]
        assert [r["context"]["span_id"] for r in roots] == [info.span_id]
        assert all(s["parent_id"] in ids for s in spans if s is not roots[0])
        assert roots[0]["attributes"]["input.value"] == f"q{i}"


def test_seed_agent_on_the_openai_client_with_httpx_spans(
    phoenix: Phoenix,
    openai_server: OpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The seed's agent on the real `openai` client (local server): each HTTP call nests under its run."""
    # openai 3.x sends over httpx2; the httpx instrumentation package ships its httpx2 twin.
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor

    api_key = "sk-e2e-openai-key-0123456789SECRET"
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.add(Reply(content=seed.STEP_1), Reply(content=seed.STEP_2))
    instrumentor = HTTPX2ClientInstrumentor()
    with _traced(phoenix.otlp_grpc_endpoint, "grpc", "otelchain-e2e-openai") as provider:
        instrumentor.instrument(tracer_provider=provider)
        try:
            result = seed.run()
        finally:
            instrumentor.uninstrument()
    capsys.readouterr()
    assert dict(result) == {"output": "256"}
    assert result.run_info is not None and result.run_info.trace_id
    spans = phoenix.spans(result.run_info.trace_id, expect=8)
    chats = [s for s in spans if s["span_kind"] == "LLM"]
    assert len(chats) == 2, _dump(spans)
    chat_ids = {c["context"]["span_id"] for c in chats}
    http = [s for s in spans if s["name"].startswith("POST")]
    assert len(http) == 2 and {h["parent_id"] for h in http} == chat_ids, _dump(spans)
    assert len(spans) == 8  # agent, 2 llm_chain, 2 chat, tool, 2 HTTP calls
    for chat, expected in zip(
        sorted(chats, key=lambda s: _t(s["start_time"])), seed.SEED_TOKENS, strict=True
    ):
        attrs = chat["attributes"]
        assert chat["name"] == f"chat {attrs['gen_ai.request.model']}"
        assert "".join(t.get("token.text", "") for t in _tokens(chat)) == "".join(expected)
        assert attrs["gen_ai.provider.name"] == "openai"
        assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == openai_server.port
    assert api_key not in json.dumps(spans), "the API key reached the backend"

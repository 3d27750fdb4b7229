"""One line (`instrument()` or OTELCHAIN_TRACING=true) traces langchain-core and LangGraph apps:
agents as invoke_agent spans with their actions, one tree per call, streaming done right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry.sdk.trace import ReadableSpan

from otelchain.tracing import OpenTelemetryCallbackHandler, instrument, uninstrument
from tests._servers.openai_server import Reply, ToolCallReply
from tests.helpers import LC, make_traced, parent_of
from tests.helpers import scenarios as S


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _agent_script(lc: LC) -> None:
    lc.server.add(
        Reply(
            tool_calls=[ToolCallReply("add", {"a": 2, "b": 3}), ToolCallReply("multiply", {"a": 5, "b": 4})]
        ),
        Reply("The answer is 20."),
    )


def _check_agent_trace(lc: LC, name: str) -> None:
    spans = lc.spans
    agent = next(s for s in spans if s.name == f"invoke_agent {name}")
    a = _attrs(agent)
    assert agent.parent is None
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == name
    assert a["openinference.span.kind"] == "AGENT"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["agent.action.count"] == 2
    assert a["agent.action.0.tool"] == "add" and a["agent.action.1.tool"] == "multiply"
    assert json.loads(a["agent.action.0.tool_input"]) == {"a": 2, "b": 3}
    assert json.loads(a["agent.action.1.tool_input"]) == {"a": 5, "b": 4}
    tools = [s for s in spans if s.name.startswith("execute_tool ")]
    assert sorted(s.name for s in tools) == ["execute_tool add", "execute_tool multiply"]
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == 2
    for span in tools + chats:  # everything the agent did is inside its span
        ancestor: ReadableSpan | None = span
        while ancestor is not None and ancestor is not agent:
            ancestor = parent_of(ancestor, spans)
        assert ancestor is agent, span.name
    for http in lc.http_spans():
        assert parent_of(http, spans).name.startswith("chat ")  # type: ignore[union-attr]
    assert len(lc.http_spans()) == 2
    assert sum(1 for s in spans if s.name.startswith("invoke_agent")) == 1


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream_messages", "astream_events"])
async def test_create_agent_is_an_invoke_agent_span_with_actions(lc: LC, mode: str) -> None:
    from langchain.agents import create_agent

    _agent_script(lc)
    agent = create_agent(
        lc.chat(streaming=mode.startswith("astream")), [S.add, S.multiply], name="calculator"
    )
    inputs = {"messages": [("user", "(2+3)*4?")]}
    if mode == "invoke":
        out = agent.invoke(inputs)
        assert out["messages"][-1].content == "The answer is 20."
    elif mode == "stream":
        list(agent.stream(inputs))
    elif mode == "ainvoke":
        await agent.ainvoke(inputs)
    elif mode == "astream_messages":
        [c async for c in agent.astream(inputs, stream_mode="messages")]
    else:
        [e async for e in agent.astream_events(inputs, version="v2")]
    _check_agent_trace(lc, "calculator")


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
async def test_create_react_agent_recognised_by_structure(lc: LC) -> None:
    from langgraph.prebuilt import create_react_agent  # imported after instrument()

    _agent_script(lc)
    agent = create_react_agent(lc.chat(), [S.add, S.multiply], name="react_calc")
    out = await agent.ainvoke({"messages": [("user", "(2+3)*4?")]})
    assert out["messages"][-1].content == "The answer is 20."
    _check_agent_trace(lc, "react_calc")


def test_plain_graph_is_not_an_agent(lc: LC) -> None:
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    class State(TypedDict):
        n: int

    graph = StateGraph(State)
    graph.add_node("inc", lambda s: {"n": s["n"] + 1})
    graph.add_edge(START, "inc")
    graph.add_edge("inc", END)
    assert graph.compile().invoke({"n": 1}) == {"n": 2}
    assert not [s for s in lc.spans if s.name.startswith("invoke_agent")]
    assert {s.name for s in lc.spans} >= {"invoke_workflow LangGraph", "inc"}


def test_content_off_keeps_tool_names_but_not_inputs(lc: LC, monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain.agents import create_agent

    instrument(lc.traced.provider, capture_content=False)
    _agent_script(lc)
    create_agent(lc.chat(), [S.add, S.multiply], name="calculator").invoke({"messages": [("user", "q")]})
    a = _attrs(next(s for s in lc.spans if s.name == "invoke_agent calculator"))
    assert a["agent.action.count"] == 2 and a["agent.action.1.tool"] == "multiply"
    assert not [k for k in a if k.endswith("tool_input")]


def _stream_chunks(spans: Sequence[ReadableSpan]) -> tuple[ReadableSpan, list[str]]:
    chat = next(s for s in spans if s.name.startswith("chat "))
    texts = [str((e.attributes or {})["token.text"]) for e in chat.events if e.name == "new_token"]
    return chat, texts


def test_streaming_tokens_are_text_only_and_response_id_is_never_langchains(lc: LC) -> None:
    lc.server.add(Reply("Hello streaming world"))
    chunks = list(lc.chat(streaming=True).stream("hi"))
    assert len(chunks) > 3  # role chunk, words, finish chunk, usage chunk
    chat, texts = _stream_chunks(lc.spans)
    assert texts and all(texts) and "".join(texts) == "Hello streaming world"
    a = _attrs(chat)
    assert a["otelchain.streamed_tokens"] == len(texts)
    assert a["gen_ai.response.time_to_first_chunk"] >= 0
    assert not str(a.get("gen_ai.response.id", "")).startswith("lc_run")


def test_non_streaming_response_id_is_the_providers(lc: LC) -> None:
    lc.server.add(Reply("hi"))
    lc.chat().invoke("hi")
    chat = next(s for s in lc.spans if s.name.startswith("chat "))
    assert str(_attrs(chat)["gen_ai.response.id"]).startswith("chatcmpl-")


def test_tool_call_chunks_make_no_token_events(lc: LC) -> None:
    lc.server.add(Reply(tool_calls=[ToolCallReply("add", {"a": 1, "b": 2})]))
    message = lc.chat(streaming=True).bind_tools([S.add]).invoke("1+2?")
    assert message.tool_calls[0]["name"] == "add"
    chat = next(s for s in lc.spans if s.name.startswith("chat "))
    assert not [e for e in chat.events if e.name == "new_token"]
    assert "otelchain.streamed_tokens" not in _attrs(chat)


def test_explicit_handler_of_the_same_provider_gives_one_tree(lc: LC) -> None:
    lc.server.add(Reply("once"))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat()
    explicit = OpenTelemetryCallbackHandler(lc.traced.provider)
    chain.invoke({"q": "a"}, config={"callbacks": [explicit]})
    assert sorted(s.name for s in lc.spans if not s.name.startswith("POST")) == [
        "ChatPromptTemplate",
        "chat test-model-0001",
        "invoke_workflow RunnableSequence",
    ]
    assert explicit.runs == {}


def test_otelchain_object_with_its_own_handler_under_instrument_gives_one_tree(lc: LC) -> None:
    """A constructor (local) handler of the same provider: the shared handler leaves it the run,
    and the run still nests under the shared handler's parent span."""
    from otelchain.chains import LLMChain
    from otelchain.chat_models import FakeListChatModel
    from otelchain.prompts import PromptTemplate

    explicit = OpenTelemetryCallbackHandler(lc.traced.provider)
    model = FakeListChatModel(["ok"], callbacks=[explicit])
    LLMChain(llm=model, prompt=PromptTemplate.from_template("{q}")).call({"q": "x"})
    names = sorted(s.name for s in lc.spans)
    assert names == ["chat fake-chat", "invoke_workflow llm_chain"], names
    chat = next(s for s in lc.spans if s.name == "chat fake-chat")
    assert parent_of(chat, lc.spans).name == "invoke_workflow llm_chain"  # type: ignore[union-attr]
    assert explicit.runs == {}


def test_another_provider_gets_its_own_tree(lc: LC) -> None:
    other = make_traced()
    lc.server.add(Reply("x"))
    lc.chat().invoke("x", config={"callbacks": [other.handler]})
    assert [s.name for s in other.spans] == ["chat test-model-0001"]
    assert len([s for s in lc.spans if s.name.startswith("chat ")]) == 1
    other.provider.shutdown()


def test_uninstrument_stops_spans_and_removes_the_bridge(lc: LC) -> None:
    from langchain_core.language_models.chat_models import BaseChatModel

    lc.server.add(Reply("a"), Reply("b"))
    lc.chat().invoke("a")
    assert len(lc.spans) == 2  # chat + POST
    uninstrument()
    lc.traced.exporter.clear()
    lc.chat().invoke("b")
    assert [s.name for s in lc.spans] == ["POST"] or all(s.name.startswith("POST") for s in lc.spans)
    # the explicitly made handler of the fixture is still alive, so the context bridge stays;
    # instrument() again brings the shared handler back
    instrument(lc.traced.provider)
    assert hasattr(BaseChatModel.__dict__["_generate_with_cache"], "__wrapped__")


_APP = textwrap.dedent(
    """
    import otelchain  # first: the env switch is read here
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    from langchain_core.language_models.fake_chat_models import FakeListChatModel  # after otelchain
    from langchain_core.prompts import ChatPromptTemplate

    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | FakeListChatModel(responses=["ok"])
    chain.invoke({"q": "hi"})
    print(sorted(s.name for s in exporter.get_finished_spans()))
    """
)


def test_env_switch_traces_langchain_imported_after_otelchain() -> None:
    env = {**os.environ, "OTELCHAIN_TRACING": "true"}
    out = subprocess.run(
        [sys.executable, "-c", _APP], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert (
        out.stdout.strip()
        == "['ChatPromptTemplate', 'chat FakeListChatModel', 'invoke_workflow RunnableSequence']"
    )


_WITHOUT_LANGCHAIN = textwrap.dedent(
    """
    import sys
    for name in ("langchain_core", "langgraph", "langchain"):
        sys.modules[name] = None  # as if not installed: importing them raises ImportError

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otelchain.chains import LLMChain
    from otelchain.chat_models import FakeListChatModel
    from otelchain.prompts import PromptTemplate
    from otelchain.tracing import instrument, uninstrument

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(provider)
    LLMChain(llm=FakeListChatModel(["ok"]), prompt=PromptTemplate.from_template("{q}")).call({"q": "x"})
    uninstrument()
    print(sorted(s.name for s in exporter.get_finished_spans()))
    """
)


def test_otelchain_needs_no_langchain() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_LANGCHAIN], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "['chat fake-chat', 'invoke_workflow llm_chain']"
    assert out.stderr == ""


@pytest.mark.parametrize("header", ["Ocp-Apim-Subscription-Key", "x-functions-key", "X-Auth-Token"])
def test_a_gateway_key_in_default_headers_never_reaches_a_span(lc: LC, header: str) -> None:
    """An API gateway's key rides in a header named for it, not for a secret: a server echoing it
    in an error message still leaves it out of the span (as otelchain's own models do)."""
    key = "gw0123456789abcdef0123456789ab"
    lc.server.add(Reply(status=401, error_message=f"Access denied due to invalid subscription key {key}"))
    model = lc.chat(max_retries=0, default_headers={header: key})
    with pytest.raises(Exception, match=key):  # the app's own exception is untouched
        model.invoke("hi")
    (chat,) = [s for s in lc.spans if s.name.startswith("chat ")]
    assert "[REDACTED]" in (chat.status.description or "")
    texts = [
        chat.status.description or "",
        *(str(v) for e in chat.events for v in (e.attributes or {}).values()),
    ]
    assert not [t for t in texts if key in t]

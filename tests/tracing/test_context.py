"""The run's span is current while the run executes: foreign spans nest under the run that
caused them, concurrent runs keep their parents apart, nothing stays attached."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from otelchain.callbacks import CallbackManagerForChainRun, ConsoleCallbackHandler
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.schema import Generation, LLMResult
from otelchain.tools import Tool
from tests._servers.get_server import get_server
from tests.helpers import Traced, XYChain, parent_of, tree


class UserWork(XYChain):
    """A chain whose body starts the user's own span."""

    type_name = "user_work"

    def __init__(self, tracer: trace.Tracer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tracer = tracer

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        with self.tracer.start_as_current_span("user span"):
            return {"y": inputs["x"]}


def test_a_user_span_in_a_chain_body_nests_under_the_chain(traced: Traced) -> None:
    UserWork(traced.tracer()).call({"x": 1}, callbacks=[traced.handler])
    assert tree(traced.spans) == [
        ("invoke_workflow user_work", None),
        ("user span", "invoke_workflow user_work"),
    ]


async def test_a_user_span_in_an_async_chain_body_nests_under_the_chain(traced: Traced) -> None:
    await UserWork(traced.tracer()).acall({"x": 1}, callbacks=[traced.handler])
    assert tree(traced.spans) == [
        ("invoke_workflow user_work", None),
        ("user span", "invoke_workflow user_work"),
    ]


def test_a_user_span_inside_a_tool_nests_under_the_tool(traced: Traced) -> None:
    tracer = traced.tracer()

    def lookup(query: str) -> str:
        with tracer.start_as_current_span("db query"):
            return f"found {query}"

    tool = Tool(name="lookup", description="Looks things up.", func=lookup)
    assert tool.run("cats", callbacks=[traced.handler]) == "found cats"
    assert tree(traced.spans) == [("db query", "execute_tool lookup"), ("execute_tool lookup", None)]
    span = traced.by_name("execute_tool lookup")
    a = dict(span.attributes or {})
    assert a["gen_ai.operation.name"] == "execute_tool"
    assert a["gen_ai.tool.name"] == a["tool.name"] == "lookup"
    assert a["gen_ai.tool.description"] == "Looks things up."
    assert a["openinference.span.kind"] == "TOOL"
    assert a["input.value"] == "cats" and a["output.value"] == "found cats"


def test_tool_call_id_on_the_tool_span(traced: Traced) -> None:
    tool = Tool(name="lookup", description="d", func=lambda q: q)
    tool.run("x", callbacks=[traced.handler], tool_call_id="call_42")
    assert (traced.spans[0].attributes or {})["gen_ai.tool.call.id"] == "call_42"


def test_console_handler_first_does_not_hide_the_otel_span(traced: Traced, capsys: Any) -> None:
    """The console handler's own spans are never made current, whatever the handler order."""
    UserWork(traced.tracer()).call({"x": 1}, callbacks=[ConsoleCallbackHandler(), traced.handler])
    assert tree(traced.spans) == [
        ("invoke_workflow user_work", None),
        ("user span", "invoke_workflow user_work"),
    ]
    assert "[chain/start]" in capsys.readouterr().out


@pytest.fixture
def local_http() -> Iterator[str]:
    """A tiny HTTP server on 127.0.0.1, stopped after the test."""
    with get_server(b"4") as url:
        yield url


class HttpLLM(FakeListLLM):
    """A completion model that makes a real HTTP call with an instrumented httpx client."""

    def __init__(self, url: str, client: httpx.Client, **kwargs: Any) -> None:
        super().__init__(["unused"], **kwargs)
        self.url, self.client = url, client

    def _generate(self, input: str, **kwargs: Any) -> LLMResult:
        text = self.client.get(self.url + "/complete").text
        return LLMResult([[Generation(text)]])


def test_an_httpx_call_inside_an_llm_run_nests_under_the_llm_span(traced: Traced, local_http: str) -> None:
    client = httpx.Client()
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=traced.provider)
    try:
        chain = LLMChain(llm=HttpLLM(local_http, client), prompt=PromptTemplate.from_template("2 + {n} ="))
        assert chain.call({"n": 2}, callbacks=[traced.handler]) == {"text": "4"}
    finally:
        HTTPXClientInstrumentor.uninstrument_client(client)
        client.close()
    http_span = next(s for s in traced.spans if s.name == "GET")
    parent = parent_of(http_span, traced.spans)
    assert parent is not None and parent.name == "text_completion fake-list"
    assert tree(traced.spans) == [
        ("GET", "text_completion fake-list"),
        ("invoke_workflow llm_chain", None),
        ("text_completion fake-list", "invoke_workflow llm_chain"),
    ]


async def test_concurrent_async_runs_keep_their_parents_apart(traced: Traced) -> None:
    llm = FakeListLLM([["a", "b", "c"]], streaming=True, sleep=0.002)
    chain = LLMChain(llm=llm, prompt=PromptTemplate.from_template("{i}"))
    outs = await asyncio.gather(*(chain.acall({"i": i}, callbacks=[traced.handler]) for i in range(25)))
    check_pairs(traced, [o.run_info.run_id for o in outs])


def test_threads_keep_their_parents_apart(traced: Traced) -> None:
    llm = FakeListLLM([["a", "b", "c"]], streaming=True, sleep=0.001)
    chain = LLMChain(llm=llm, prompt=PromptTemplate.from_template("{i}"))
    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda i: chain.call({"i": i}, callbacks=[traced.handler]), range(40)))
    check_pairs(traced, [o.run_info.run_id for o in outs])


def check_pairs(traced: Traced, chain_run_ids: list[Any]) -> None:
    spans = traced.spans
    chains = {s.attributes["otelchain.run_id"]: s for s in spans if s.name == "invoke_workflow llm_chain"}  # type: ignore[index]
    llms = [s for s in spans if s.name != "invoke_workflow llm_chain"]
    assert sorted(chains) == sorted(str(r) for r in chain_run_ids)
    assert len(llms) == len(chains)
    for llm in llms:
        a = dict(llm.attributes or {})
        parent = chains[a["otelchain.parent_run_id"]]
        assert llm.parent is not None and llm.parent.span_id == parent.context.span_id
        assert llm.context.trace_id == parent.context.trace_id
        assert len([e for e in llm.events if e.name == "new_token"]) == 3
    assert len({s.context.trace_id for s in chains.values()}) == len(chains)


def test_no_context_is_left_attached_after_errors(traced: Traced) -> None:
    class Fails(UserWork):
        def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
            raise RuntimeError("boom")

    for _ in range(3):
        with pytest.raises(RuntimeError):
            Fails(traced.tracer()).call({"x": 1}, callbacks=[traced.handler])
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert len(traced.spans) == 3


def test_separate_trace_from_runtime_context_starts_roots_in_their_own_trace(traced: Traced) -> None:
    from otelchain.tracing import OpenTelemetryCallbackHandler

    separate = OpenTelemetryCallbackHandler(traced.provider, separate_trace_from_runtime_context=True)
    tracer = traced.tracer()
    with tracer.start_as_current_span("ambient") as ambient:
        UserWork(tracer).call({"x": "a"}, callbacks=[separate])  # a root run: a trace of its own
        UserWork(tracer).call({"x": "b"}, callbacks=[traced.handler])  # default: under the ambient span
    own, under = (s for s in traced.spans if s.name == "invoke_workflow user_work")
    assert own.parent is None and own.context.trace_id != ambient.get_span_context().trace_id
    assert under.parent is not None and under.parent.span_id == ambient.get_span_context().span_id
    # the run's own body still nests under it
    user = [s for s in traced.spans if s.name == "user span"]
    assert {parent_of(s, traced.spans).name for s in user} == {"invoke_workflow user_work"}  # type: ignore[union-attr]
    assert separate.runs == {}


def test_live_handlers_follow_handlers_made_and_collected() -> None:
    import gc

    from opentelemetry.sdk.trace import TracerProvider

    from otelchain.tracing import OpenTelemetryCallbackHandler
    from otelchain.tracing._spans.context import has_peers, live_handlers

    gc.collect()
    before = set(map(id, live_handlers()))
    first = OpenTelemetryCallbackHandler(TracerProvider())
    assert first in live_handlers()
    assert has_peers(first) == bool(before)
    second = OpenTelemetryCallbackHandler(TracerProvider())
    assert has_peers(first) and has_peers(second)
    second_id = id(second)
    del second
    gc.collect()
    assert second_id not in set(map(id, live_handlers()))
    assert first in live_handlers()
    assert has_peers(first) == bool(before - {id(first)})

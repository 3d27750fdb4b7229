"""Spans of other instrumentation nest under the LangChain run that caused them, in every mode,
and the caller's OTel context is exactly as before once a call returns (or a stream ends)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from otelchain.tracing import instrument
from tests._servers.openai_server import Reply
from tests.helpers import LC, Traced, make_traced, parent_of


def _chats(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith("chat ")]


def _assert_http_under_chats(lc: LC, n: int) -> None:
    """Each chat span has exactly one HTTP client span as its child; every span ended."""
    spans = lc.spans
    chats, https = _chats(spans), lc.http_spans()
    assert len(chats) == n and len(https) == n, [s.name for s in spans]
    for http in https:
        parent = parent_of(http, spans)
        assert parent is not None and parent.name.startswith("chat "), (http.name, parent)
    assert sorted(parent_of(h, spans).context.span_id for h in https) == sorted(  # type: ignore[union-attr]
        c.context.span_id for c in chats
    )
    # the traceparent the server received names the HTTP span of the same trace
    sent = {r.headers["traceparent"].rsplit("-", 1)[0] for r in lc.server.requests}
    want = {f"00-{h.context.trace_id:032x}-{h.context.span_id:016x}" for h in https}
    assert sent == want


def test_invoke_nests_http_under_chat(lc: LC) -> None:
    lc.server.add(Reply("hello"))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat()
    before = otel_context.get_current()
    assert chain.invoke({"q": "hi"}).content == "hello"
    assert otel_context.get_current() == before
    _assert_http_under_chats(lc, 1)
    chat = _chats(lc.spans)[0]
    assert parent_of(chat, lc.spans).name == "invoke_workflow RunnableSequence"  # type: ignore[union-attr]


async def test_ainvoke_nests_http_under_chat(lc: LC) -> None:
    lc.server.add(Reply("hello"))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat()
    assert (await chain.ainvoke({"q": "hi"})).content == "hello"
    _assert_http_under_chats(lc, 1)


def test_batch_threads_nest_each_call(lc: LC) -> None:
    lc.server.add(*(Reply("same") for _ in range(4)))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat()
    outs = chain.batch([{"q": f"q{i}"} for i in range(4)], config={"max_concurrency": 4})
    assert [o.content for o in outs] == ["same"] * 4
    _assert_http_under_chats(lc, 4)


async def test_abatch_and_gather_nest_each_call(lc: LC) -> None:
    lc.server.add(*(Reply("same") for _ in range(6)))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat()
    outs = await chain.abatch([{"q": f"q{i}"} for i in range(3)])
    outs += await asyncio.gather(*(chain.ainvoke({"q": f"g{i}"}) for i in range(3)))
    assert [o.content for o in outs] == ["same"] * 6
    _assert_http_under_chats(lc, 6)


def test_stream_nests_http_and_leaves_the_consumer_outside(lc: LC) -> None:
    lc.server.add(Reply("one two three"))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat(streaming=True)
    tracer = lc.traced.tracer()
    texts = []
    for chunk in chain.stream({"q": "hi"}):
        texts.append(chunk.content)
        assert trace.get_current_span() is trace.INVALID_SPAN  # nothing attached between chunks
        with tracer.start_as_current_span("consumer work"):
            pass
    assert "".join(texts) == "one two three"
    _assert_http_under_chats(lc, 1)
    consumer = [s for s in lc.spans if s.name == "consumer work"]
    assert len(consumer) == len(texts) and all(s.parent is None for s in consumer)


async def test_astream_nests_http_and_leaves_the_consumer_outside(lc: LC) -> None:
    lc.server.add(Reply("one two three"))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat(streaming=True)
    texts = []
    async for chunk in chain.astream({"q": "hi"}):
        texts.append(chunk.content)
        assert trace.get_current_span() is trace.INVALID_SPAN
    assert "".join(texts) == "one two three"
    _assert_http_under_chats(lc, 1)


def test_model_stream_called_directly(lc: LC) -> None:
    lc.server.add(Reply("a b"))
    texts = [c.content for c in lc.chat(streaming=True).stream("hi")]
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert "".join(texts) == "a b"
    _assert_http_under_chats(lc, 1)


def test_abandoned_stream_ends_its_spans(lc: LC) -> None:
    lc.server.add(Reply("one two three four"))
    stream = lc.chat(streaming=True).stream("hi")
    next(stream)
    stream.close()
    assert trace.get_current_span() is trace.INVALID_SPAN
    (chat,) = _chats(lc.spans)
    assert chat.end_time is not None


async def test_astream_events_nests_http(lc: LC) -> None:
    lc.server.add(Reply("x y"))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat(streaming=True)
    kinds = [e["event"] async for e in chain.astream_events({"q": "hi"}, version="v2")]
    assert "on_chat_model_stream" in kinds
    _assert_http_under_chats(lc, 1)


def test_runnable_parallel_branches_nest(lc: LC) -> None:
    lc.server.add(Reply("same"), Reply("same"))
    prompt = ChatPromptTemplate.from_messages([("user", "{q}")])
    both = RunnableParallel(a=prompt | lc.chat(), b=prompt | lc.chat())
    out = both.invoke({"q": "hi"})
    assert out["a"].content == out["b"].content == "same"
    _assert_http_under_chats(lc, 2)


def test_user_span_in_lambda_nests_under_the_lambda(lc: LC) -> None:
    tracer = lc.traced.tracer()

    def work(x: int) -> int:
        with tracer.start_as_current_span("user work"):
            return x + 1

    assert RunnableLambda(work, name="work").invoke(1) == 2
    user = next(s for s in lc.spans if s.name == "user work")
    assert parent_of(user, lc.spans).name == "invoke_workflow work"  # type: ignore[union-attr]


async def test_user_span_in_async_lambda_nests(lc: LC) -> None:
    tracer = lc.traced.tracer()

    async def work(x: int) -> int:
        with tracer.start_as_current_span("user work"):
            await asyncio.sleep(0)
            return x + 1

    assert await RunnableLambda(work, name="awork").ainvoke(1) == 2
    user = next(s for s in lc.spans if s.name == "user work")
    assert parent_of(user, lc.spans).name == "invoke_workflow awork"  # type: ignore[union-attr]


def test_tool_http_call_nests_under_execute_tool(lc: LC) -> None:
    lc.server.add(Reply("fetched"))
    base = lc.server.base_url

    @tool
    def fetch(q: str) -> str:
        """Fetch an answer over HTTP."""
        with httpx.Client() as client:
            reply = client.post(f"{base}/chat/completions", json={"model": "m", "messages": []})
        return str(reply.json()["choices"][0]["message"]["content"])

    assert fetch.invoke({"q": "x"}) == "fetched"
    (http,) = lc.http_spans()
    assert parent_of(http, lc.spans).name == "execute_tool fetch"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_context_is_exactly_restored_after_each_mode(lc: LC, mode: str) -> None:
    """Under a caller's own span, every mode returns with that span current and nothing else."""
    lc.server.add(*(Reply("r") for _ in range(3)))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat(streaming=True)
    with lc.traced.tracer().start_as_current_span("caller") as caller:
        before = otel_context.get_current()
        if mode == "sync":
            chain.invoke({"q": "1"})
            list(chain.stream({"q": "2"}))
            chain.batch([{"q": "3"}])
        else:
            await chain.ainvoke({"q": "1"})
            [c async for c in chain.astream({"q": "2"})]
            await chain.abatch([{"q": "3"}])
        assert otel_context.get_current() == before
        assert trace.get_current_span() is caller
    roots = [s for s in lc.spans if s.name == "invoke_workflow RunnableSequence"]
    assert len(roots) == 3 and all(parent_of(s, lc.spans) is not None for s in roots)
    _assert_http_under_chats(lc, 3)


async def test_concurrent_astreams_never_cross_parent(lc: LC) -> None:
    """20 interleaved async streams: each HTTP span under its own chat span, none under another."""
    n = 20
    lc.server.add(*(Reply("a b c d", token_delay=0.001) for _ in range(n)))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat(streaming=True)

    async def consume(i: int) -> str:
        return "".join([str(c.content) async for c in chain.astream({"q": f"q{i}"})])

    assert await asyncio.gather(*(consume(i) for i in range(n))) == ["a b c d"] * n
    _assert_http_under_chats(lc, n)
    for http in lc.http_spans():
        chat = parent_of(http, lc.spans)
        root = parent_of(chat, lc.spans)  # type: ignore[arg-type]
        assert root is not None and root.name == "invoke_workflow RunnableSequence"
        assert root.context.trace_id == http.context.trace_id


def test_concurrent_thread_streams_never_cross_parent(lc: LC) -> None:
    from concurrent.futures import ThreadPoolExecutor

    n = 8
    lc.server.add(*(Reply("a b c", token_delay=0.001) for _ in range(n)))
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | lc.chat(streaming=True)

    def consume(i: int) -> str:
        return "".join(str(c.content) for c in chain.stream({"q": f"q{i}"}))

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(consume, range(n))) == ["a b c"] * n
    _assert_http_under_chats(lc, n)


def test_the_apps_spans_nest_under_the_app_wide_handlers_span(lg: Traced) -> None:
    """A second handler on another provider (an audit backend), made before `instrument()`,
    traces the same runs: the app's own spans (the app's provider) still nest under the app-wide
    handler's span of the run, never under a span that exists only in the other backend."""
    audit = make_traced()
    handler = instrument(lg.provider)  # the app-wide handler, made after the audit one
    tracer = lg.tracer()

    def step(x: int) -> int:
        with tracer.start_as_current_span("db-query"):
            return x

    (RunnableLambda(step, name="step") | RunnableLambda(step, name="step")).invoke(
        1, {"callbacks": [audit.handler]}
    )
    spans = lg.spans
    queries = [s for s in spans if s.name == "db-query"]
    assert len(queries) == 2
    for query in queries:
        assert parent_of(query, spans).name == "step"  # type: ignore[union-attr]
    assert sorted(s.name for s in audit.spans) == ["invoke_workflow RunnableSequence", "step", "step"]
    assert handler.runs == {} and audit.handler.runs == {}


def test_a_stream_stepped_in_tasks_and_closed_leaves_the_loop_shutdown_quiet(lg: Traced) -> None:
    """Each chunk read under ``asyncio.wait_for`` (its own task), then the stream closed: the
    model's stream is left to the loop's shutdown, which closes every async generator at once;
    otelchain's wrapper of it must not close it too (asyncio would log "already running")."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    problems: list[str] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: problems.append(ctx["message"]))
        model = GenericFakeChatModel(messages=iter([AIMessage(content="a b c d e f")]))
        stream = (RunnableLambda(lambda x: x) | model).astream("hi")
        await asyncio.wait_for(stream.__anext__(), timeout=30)
        await asyncio.wait_for(stream.__anext__(), timeout=30)
        await stream.aclose()

    for _ in range(8):  # the loop closes its generators in no fixed order: try both
        asyncio.run(main())
    assert problems == []
    lg.assert_clean()


def test_uninstrument_during_a_run_leaves_that_run_whole() -> None:
    """Tracing switched off while a call runs: its later steps still make their spans current
    (the app's spans in them nest), and the wrappers go once no traced run is open."""
    import gc

    import wrapt
    from langchain_core.runnables import config as lc_config
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otelchain.tracing import uninstrument
    from otelchain.tracing._spans.context import live_handlers

    gc.collect()  # no handler of an earlier test alive: only instrument()'s below
    provider, exporter = TracerProvider(shutdown_on_exit=False), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = instrument(provider)
    tracer = provider.get_tracer("app")

    def first(x: int) -> int:
        uninstrument()  # a feature flag turning tracing off while requests run
        return x

    def second(x: int) -> int:
        with tracer.start_as_current_span("db-query"):
            return x

    (RunnableLambda(first, name="first") | RunnableLambda(second, name="second")).invoke(1)
    spans = exporter.get_finished_spans()
    query = next(s for s in spans if s.name == "db-query")
    assert parent_of(query, spans).name == "second"  # type: ignore[union-attr]
    assert handler.runs == {}
    RunnableLambda(lambda x: x).invoke(1)  # the next (untraced) call finds nothing open
    if all(h.shared for h in live_handlers()):  # (a handler the app made would keep them)
        assert not isinstance(lc_config.__dict__["_set_config_context"], wrapt.FunctionWrapper)

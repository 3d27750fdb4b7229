"""A resumed LangGraph run links to the run it resumes: in one process (any checkpointer) and across
two processes sharing a SQLite checkpointer, through the traceparent in the checkpoint's metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from opentelemetry.sdk.trace import ReadableSpan

from otelchain.integrations._langgraph import TRACEPARENT_KEY
from tests.helpers import Traced
from tests.helpers import graphs as G

ROOT = Path(__file__).resolve().parents[2]


def _roots(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name and s.parent is None]


def _ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def _links(span: ReadableSpan) -> list[tuple[int, int, dict[str, Any]]]:
    return [(ln.context.trace_id, ln.context.span_id, dict(ln.attributes or {})) for ln in span.links]


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_resume_in_one_process_links_to_the_interrupted_run(lg: Traced, mode: str) -> None:
    graph = G.approval_graph(InMemorySaver())
    config = {"configurable": {"thread_id": f"thread-{mode}"}}

    async def run(inputs: Any) -> None:
        if mode == "invoke":
            graph.invoke(inputs, config)
        elif mode == "stream":
            list(graph.stream(inputs, config))
        elif mode == "ainvoke":
            await graph.ainvoke(inputs, config)
        else:
            [c async for c in graph.astream(inputs, config)]

    await run({"topic": "q3"})
    (paused,) = _roots(lg.spans, "invoke_workflow approval")
    await run(Command(resume="yes"))
    assert graph.get_state(config).values["answer"] == "yes"
    first, resumed = sorted(_roots(lg.spans, "invoke_workflow approval"), key=lambda s: s.start_time or 0)
    assert first is paused or _ids(first) == _ids(paused)
    assert _ids(resumed)[0] != _ids(paused)[0]  # a trace of its own ...
    assert _links(resumed) == [(*_ids(paused), {"otelchain.link.reason": "resume"})]  # ... linked
    assert _links(paused) == []
    for span in (paused, resumed):
        assert (span.attributes or {})["gen_ai.conversation.id"] == f"thread-{mode}"
    # the traceparent rides in the checkpoint's metadata; the nodes' spans do not show it
    assert graph.get_state(config).metadata[TRACEPARENT_KEY].split("-")[1] == f"{_ids(resumed)[0]:032x}"
    assert not [s for s in lg.spans if TRACEPARENT_KEY in str((s.attributes or {}).get("metadata"))]


def test_a_new_input_on_the_thread_is_not_a_resume(lg: Traced) -> None:
    graph = G.approval_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "fresh"}}
    graph.invoke({"topic": "one"}, config)
    graph.invoke({"topic": "two"}, config)  # starts over with new input: no link
    assert [_links(s) for s in _roots(lg.spans, "invoke_workflow approval")] == [[], []]


def test_subgraph_interrupt_resume_links_the_outer_graph(lg: Traced) -> None:
    graph = G.nested_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "nested"}}
    graph.invoke({"topic": "x"}, config)
    graph.invoke(Command(resume="ok"), config)
    paused, resumed = sorted(_roots(lg.spans, "invoke_workflow outer"), key=lambda s: s.start_time or 0)
    assert [link[:2] for link in _links(resumed)] == [_ids(paused)]
    assert all(not s.links for s in lg.spans if s.name != "invoke_workflow outer")


def test_without_tracing_nothing_is_stamped() -> None:
    graph = G.approval_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "untraced"}}
    graph.invoke({"topic": "x"}, config)
    assert TRACEPARENT_KEY not in graph.get_state(config).metadata


_WORKER = textwrap.dedent(
    """
    import asyncio, json, sqlite3, sys
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from otelchain.tracing import instrument

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(provider)

    from langgraph.types import Command
    from tests.helpers import graphs as G

    db, step = sys.argv[1], sys.argv[2]
    config = {"configurable": {"thread_id": "order-42"}}
    if step == "pause":  # the request that pauses: sync, SqliteSaver
        from langgraph.checkpoint.sqlite import SqliteSaver

        connection = sqlite3.connect(db, check_same_thread=False)
        out = G.approval_graph(SqliteSaver(connection)).invoke({"topic": "refund"}, config)
        assert "__interrupt__" in out
        connection.close()
    else:  # the request that resumes, in another process: async, AsyncSqliteSaver
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async def resume():
            async with AsyncSqliteSaver.from_conn_string(db) as saver:
                out = await G.approval_graph(saver).ainvoke(Command(resume="approved"), config)
                assert out["answer"] == "approved", out

        asyncio.run(resume())
    provider.shutdown()
    roots = [s for s in exporter.get_finished_spans() if s.name == "invoke_workflow approval"]
    print(json.dumps([
        {
            "trace": s.context.trace_id,
            "span": s.context.span_id,
            "links": [[l.context.trace_id, l.context.span_id] for l in s.links],
            "conversation": s.attributes.get("gen_ai.conversation.id"),
            "status": s.status.status_code.name,
            "control_flow": s.attributes.get("otelchain.control_flow"),
        }
        for s in roots
    ]))
    """
)


def _worker(db: Path, step: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, str(db), step],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    (root,) = json.loads(out.stdout)
    return dict(root)


def test_resume_in_another_process_links_through_the_sqlite_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "checkpoints.sqlite"
    paused = _worker(db, "pause")
    resumed = _worker(db, "resume")
    assert paused["control_flow"] == "GraphInterrupt" and paused["links"] == []
    assert resumed["trace"] != paused["trace"]
    assert resumed["links"] == [[paused["trace"], paused["span"]]]
    assert paused["conversation"] == resumed["conversation"] == "order-42"
    assert paused["status"] == resumed["status"] == "UNSET"

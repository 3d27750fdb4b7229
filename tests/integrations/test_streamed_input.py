"""A streamed run records its input exactly as an invoked one: langchain-core starts a streamed
chain with a placeholder input and sends the real one with its end event (also on error)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from tests.helpers import Traced


def _inputs(traced: Traced) -> dict[str, Any]:
    """input.value (message ids, new each run, blanked) and its mime type of every span, by span
    name; then cleared."""
    out = {
        s.name: (
            re.sub(r'"id": "lc_run[^"]*"', '"id": ""', str((s.attributes or {}).get("input.value"))),
            (s.attributes or {}).get("input.mime_type"),
        )
        for s in traced.spans
        if not s.name.startswith("chat ")
    }
    traced.exporter.clear()
    return out


def _chain() -> Any:
    prompt = ChatPromptTemplate.from_messages([("user", "{q}")])
    return prompt | FakeListChatModel(responses=["ok"]) | RunnableLambda(lambda m: m.content, name="text")


@pytest.mark.parametrize("mode", ["stream", "astream", "astream_events", "transform", "atransform"])
async def test_streamed_chain_records_its_input_as_invoke_does(lg: Traced, mode: str) -> None:
    chain, inputs = _chain(), {"q": "what is 2+2?"}
    chain.invoke(inputs)
    expected = _inputs(lg)
    assert expected["invoke_workflow RunnableSequence"] == ("what is 2+2?", None)
    if mode == "stream":
        list(chain.stream(inputs))
    elif mode == "astream":
        [c async for c in chain.astream(inputs)]
    elif mode == "astream_events":
        [e async for e in chain.astream_events(inputs, version="v2")]
    elif mode == "transform":
        list(chain.transform(iter([inputs])))
    else:

        async def chunks() -> Any:
            yield inputs

        [c async for c in chain.atransform(chunks())]
    got = _inputs(lg)
    for name in ("invoke_workflow RunnableSequence", "ChatPromptTemplate"):
        assert got[name] == expected[name]
    assert '"content": "ok"' in str(got["text"][0])  # the model's message (streamed: a chunk of it)


def test_streamed_chain_that_fails_records_its_input(lg: Traced) -> None:
    def boom(value: Any) -> Any:
        raise ValueError("no")

    chain = _chain() | RunnableLambda(boom, name="boom")
    with pytest.raises(ValueError):
        list(chain.stream({"q": "kept"}))
    assert _inputs(lg)["invoke_workflow RunnableSequence"] == ("kept", None)


class State(TypedDict, total=False):
    q: str
    answer: str


def _graph() -> Any:
    chain = _chain()

    def answer(state: State) -> State:
        get_stream_writer()({"progress": "answering"})
        return {"answer": chain.invoke({"q": state["q"]})}

    graph = StateGraph(State)
    graph.add_node("answer", answer)
    graph.add_node("shout", RunnableLambda(lambda s: {"answer": s["answer"].upper()}, name="shout"))
    graph.add_edge(START, "answer")
    graph.add_edge("answer", "shout")
    graph.add_edge("shout", END)
    return graph.compile(name="qa")


MODES = ["values", "updates", "messages", "custom", "debug", "tasks", "checkpoints", "multi"]


@pytest.mark.parametrize("mode", MODES)
async def test_every_graph_stream_mode_records_inputs_as_invoke_does(lg: Traced, mode: str) -> None:
    graph, inputs = _graph(), {"q": "hi"}
    assert graph.invoke(inputs) == {"q": "hi", "answer": "OK"}
    expected = _inputs(lg)
    assert expected["invoke_workflow qa"] == ("hi", None) and expected["RunnableSequence"] == ("hi", None)
    stream_mode: Any = ["values", "updates", "messages", "custom"] if mode == "multi" else mode
    if mode == "checkpoints":
        from langgraph.checkpoint.memory import InMemorySaver

        graph = _graph().copy(update={"checkpointer": InMemorySaver()})
        chunks = list(graph.stream(inputs, {"configurable": {"thread_id": "t"}}, stream_mode=stream_mode))
    else:
        chunks = list(graph.stream(inputs, stream_mode=stream_mode))
    assert chunks
    assert _inputs(lg) == expected
    [c async for c in _graph().astream(inputs, stream_mode=stream_mode)]
    assert _inputs(lg) == expected
    [e async for e in _graph().astream_events(inputs, version="v2")]
    assert _inputs(lg) == expected

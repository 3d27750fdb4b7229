"""The OTel handler is a callback handler like any other: langchain-core accepts it too."""

from __future__ import annotations

import asyncio
import json

from langchain_core.language_models.fake import FakeListLLM as LCFakeListLLM
from langchain_core.language_models.fake_chat_models import FakeListChatModel as LCFakeListChatModel
from langchain_core.prompts import PromptTemplate as LCPromptTemplate
from langchain_core.runnables import RunnableLambda
from opentelemetry.trace import SpanKind

from tests.helpers import Traced, tree


def test_prompt_and_llm_sequence_gives_nested_spans(traced: Traced) -> None:
    chain = LCPromptTemplate.from_template("1 + {number} =") | LCFakeListLLM(responses=["3"])
    assert chain.invoke({"number": 2}, config={"callbacks": [traced.handler]}) == "3"
    assert tree(traced.spans) == [
        ("PromptTemplate", "invoke_workflow RunnableSequence"),
        ("invoke_workflow RunnableSequence", None),
        ("text_completion FakeListLLM", "invoke_workflow RunnableSequence"),
    ]
    llm = next(s for s in traced.spans if s.kind is SpanKind.CLIENT)
    a = dict(llm.attributes or {})
    # OpenInference's format: the prompts as llm.prompts, input/output values as JSON of the run
    assert a["llm.prompts"] == ("1 + 2 =",) and json.loads(str(a["input.value"])) == {"prompts": ["1 + 2 ="]}
    assert a["input.mime_type"] == a["output.mime_type"] == "application/json"
    assert json.loads(str(a["output.value"]))["generations"][0][0]["text"] == "3"
    assert a["gen_ai.operation.name"] == "text_completion"


def test_runnable_lambda_calling_a_chat_model_nests(traced: Traced) -> None:
    model = LCFakeListChatModel(responses=["hello there"])

    def ask(question: str) -> str:
        return str(model.invoke(question).content)

    outer = RunnableLambda(ask, name="ask")
    assert outer.invoke("hi?", config={"callbacks": [traced.handler]}) == "hello there"
    names = dict(tree(traced.spans))
    chat = next(s for s in traced.spans if s.kind is SpanKind.CLIENT)
    assert chat.name.startswith("chat ") and names[chat.name] == "invoke_workflow ask"
    a = dict(chat.attributes or {})
    assert a["llm.input_messages.0.message.role"] == "user"
    assert a["llm.input_messages.0.message.content"] == "hi?"
    assert a["llm.output_messages.0.message.content"] == "hello there"
    assert traced.handler.runs == {}


def test_streaming_langchain_chat_model_emits_token_events(traced: Traced) -> None:
    model = LCFakeListChatModel(responses=["abc"])
    chunks = [c.content for c in model.stream("x", config={"callbacks": [traced.handler]})]
    (span,) = traced.spans
    texts = [e.attributes["token.text"] for e in span.events if e.name == "new_token"]  # type: ignore[index]
    assert "".join(texts) == "".join(str(c) for c in chunks) == "abc"


async def test_async_langchain_runs_nest_and_end(traced: Traced) -> None:
    chain = LCPromptTemplate.from_template("{q}") | LCFakeListChatModel(responses=["a", "b", "c"])
    outs = await asyncio.gather(
        *(chain.ainvoke({"q": f"q{i}"}, config={"callbacks": [traced.handler]}) for i in range(3))
    )
    assert sorted(str(o.content) for o in outs) == ["a", "b", "c"]
    chats = [s for s in traced.spans if s.kind is SpanKind.CLIENT]
    assert len(chats) == 3
    by_id = {s.context.span_id: s for s in traced.spans}
    for chat in chats:
        parent = by_id[chat.parent.span_id]  # type: ignore[union-attr]
        assert parent.name == "invoke_workflow RunnableSequence"
        question = (chat.attributes or {})["llm.input_messages.0.message.content"]
        assert (parent.attributes or {})["input.value"] == question  # a single-key input, unwrapped
    assert traced.handler.runs == {}

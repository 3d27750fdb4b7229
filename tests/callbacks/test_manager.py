"""CallbackManager: constructor vs request scoping, inheritance, run ids, managers as callbacks."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID, uuid4

import pytest

from otelchain.callbacks import (
    AsyncCallbackManager,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForChainRun,
    add_global_handler,
    remove_global_handler,
)
from otelchain.callbacks._ids import uuid7
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from tests.helpers import Recorder


def _build(llm_cbs: Any = None, chain_cbs: Any = None) -> LLMChain:
    llm = FakeListLLM(["3"], callbacks=llm_cbs)
    return LLMChain(llm=llm, prompt=PromptTemplate.from_template("1 + {number} ="), callbacks=chain_cbs)


def test_constructor_callbacks_apply_to_that_object_only() -> None:
    on_chain, on_llm = Recorder(), Recorder()
    _build(llm_cbs=[on_llm], chain_cbs=[on_chain]).call({"number": 2})
    assert on_chain.names == ["on_chain_start", "on_chain_end"]  # not the chain's model
    assert on_llm.names == ["on_llm_start", "on_llm_end"]


@pytest.mark.parametrize("method", ["call", "run", "apply", "invoke", "stream"])
def test_request_callbacks_reach_every_sub_call(method: str) -> None:
    rec = Recorder()
    chain = _build()
    if method == "call":
        chain.call({"number": 2}, [rec])
    elif method == "run":
        chain.run(number=2, callbacks=[rec])
    elif method == "apply":
        chain.apply([{"number": 2}, {"number": 3}], [rec])
    elif method == "invoke":
        chain.invoke({"number": 2}, {"callbacks": [rec]})
    else:
        list(chain.stream({"number": 2}, callbacks=[rec]))
    per_call = ["on_chain_start", "on_llm_start", "on_llm_end", "on_chain_end"]
    assert rec.names == per_call * (2 if method == "apply" else 1)


@pytest.mark.parametrize("method", ["acall", "arun", "aapply", "ainvoke", "astream"])
async def test_request_callbacks_reach_every_sub_call_async(method: str) -> None:
    rec = Recorder()
    chain = _build()
    if method == "acall":
        await chain.acall({"number": 2}, [rec])
    elif method == "arun":
        await chain.arun(number=2, callbacks=[rec])
    elif method == "aapply":
        await chain.aapply([{"number": 2}], [rec])
    elif method == "ainvoke":
        await chain.ainvoke({"number": 2}, {"callbacks": [rec]})
    else:
        async for _ in chain.astream({"number": 2}, callbacks=[rec]):
            pass
    assert rec.names == ["on_chain_start", "on_llm_start", "on_llm_end", "on_chain_end"]


def test_request_callbacks_on_a_model_call() -> None:
    """The seed's `llm.call("1 + 1 =", undefined, [handler])`."""
    rec = Recorder()
    llm = FakeListLLM(["2"])
    assert llm.call("1 + 1 =", None, [rec]) == "2"
    assert rec.names == ["on_llm_start", "on_llm_end"]
    assert llm.call("1 + 1 =") == "2"  # not kept for the next call
    assert rec.names == ["on_llm_start", "on_llm_end"]


def test_callback_manager_instance_as_callbacks() -> None:
    rec, local_only = Recorder(), Recorder()
    manager = CallbackManager(handlers=[rec, local_only], inheritable_handlers=[rec])
    _build().call({"number": 2}, manager)
    assert rec.names == ["on_chain_start", "on_llm_start", "on_llm_end", "on_chain_end"]
    assert local_only.names == ["on_chain_start", "on_chain_end"]
    # and in a constructor
    rec2 = Recorder()
    _build(chain_cbs=CallbackManager([rec2])).call({"number": 2})
    assert rec2.names == ["on_chain_start", "on_chain_end"]


def test_same_handler_in_constructor_and_request_fires_once_in_order() -> None:
    a, b = Recorder("a"), Recorder("b")
    order: list[str] = []
    a.on_chain_start = lambda *x, **k: order.append("a")  # type: ignore[method-assign]
    b.on_chain_start = lambda *x, **k: order.append("b")  # type: ignore[method-assign]
    _build(chain_cbs=[a, b]).call({"number": 2}, [b, a, b])
    assert order == ["b", "a"]  # request handlers first, each once


def test_dedupe_is_by_identity_not_equality() -> None:
    class Eq(BaseCallbackHandler):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    m = CallbackManager([Eq(), Eq()])
    assert len(m.handlers) == 2


def test_run_ids_and_parents() -> None:
    rec = Recorder()
    root = uuid4()
    out = _build().call({"number": 2}, [rec], run_id=root)
    chain_start, llm_start = rec.events[0], rec.events[1]
    assert chain_start.kwargs["run_id"] == root == out.run_info.run_id
    assert chain_start.kwargs["parent_run_id"] is None
    assert llm_start.kwargs["parent_run_id"] == root
    assert llm_start.kwargs["run_id"].version == 7
    assert rec.events[2].kwargs["run_id"] == llm_start.kwargs["run_id"]
    assert rec.events[3].kwargs["run_id"] == root


def test_run_id_must_be_a_uuid() -> None:
    with pytest.raises(TypeError, match="run_id must be a UUID"):
        _build().call({"number": 2}, run_id="nope")  # type: ignore[arg-type]
    rid = uuid4()
    assert _build().call({"number": 2}, run_id=str(rid)).run_info.run_id == rid  # type: ignore[arg-type]


def test_uuid7_is_time_ordered_and_unique() -> None:
    before = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(20000)]
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids[:100])
    # The first id carries the clock's millisecond at its making (no margin needed; later ids may
    # borrow a millisecond ahead when more than 4096 are made in one).
    assert before <= ids[0].int >> 80 <= after


def test_tags_and_metadata_are_inherited_the_langchain_way() -> None:
    rec = Recorder()
    llm = FakeListLLM(["3"], tags=["llm-tag"], metadata={"llm": 1})
    chain = LLMChain(
        llm=llm, prompt=PromptTemplate.from_template("{q}"), tags=["chain-tag"], metadata={"chain": 1}
    )
    chain.call({"q": "x"}, [rec], tags=["req"], metadata={"user_id": "u1"})
    chain_kw, llm_kw = rec.events[0].kwargs, rec.events[1].kwargs
    assert chain_kw["tags"] == ["req", "chain-tag"]
    assert chain_kw["metadata"] == {"user_id": "u1", "chain": 1}
    # the chain's own tags/metadata are local; the request's are inherited
    assert llm_kw["tags"] == ["req", "llm-tag"]
    assert llm_kw["metadata"] == {"user_id": "u1", "llm": 1}


def test_get_child() -> None:
    inherit, local = Recorder(), Recorder()
    manager = CallbackManager([inherit, local], [inherit], tags=["a", "b"], inheritable_tags=["a"])
    run = manager.on_chain_start({"name": "x"}, {})
    assert isinstance(run, CallbackManagerForChainRun)
    child = run.get_child("step:1")
    assert child.handlers == [inherit]
    assert child.parent_run_id == run.run_id
    assert child.tags == ["a", "step:1"]
    assert child.inheritable_tags == ["a"]


def test_global_handler_added_exactly_once() -> None:
    rec = Recorder()
    add_global_handler(rec)
    add_global_handler(rec)
    try:
        _build(chain_cbs=[rec]).call({"number": 2}, [rec])
    finally:
        remove_global_handler(rec)
    assert rec.names == ["on_chain_start", "on_llm_start", "on_llm_end", "on_chain_end"]
    _build().call({"number": 2})
    assert len(rec.names) == 4


def test_errors_end_runs_and_propagate() -> None:
    rec = Recorder()

    class Broken(FakeListLLM):
        def _generate(self, *a: Any, **k: Any) -> Any:
            raise ConnectionError("model down")

    chain = LLMChain(llm=Broken(["x"]), prompt=PromptTemplate.from_template("{q}"))
    with pytest.raises(ConnectionError, match="model down"):
        chain.call({"q": "x"}, [rec])
    assert rec.names == ["on_chain_start", "on_llm_start", "on_llm_error", "on_chain_error"]


def test_bad_input_is_a_clear_error_before_any_run() -> None:
    rec = Recorder()
    with pytest.raises(ValueError, match=r"missing input key\(s\) \['number'\]"):
        _build().call({"numbr": 2}, [rec])
    with pytest.raises(TypeError, match="takes a prompt str"):
        FakeListLLM(["x"]).call(42)  # type: ignore[arg-type]
    assert rec.events == []


async def test_concurrent_async_runs_keep_their_parents() -> None:
    rec = Recorder()
    chain = LLMChain(llm=FakeListLLM(["a", "b"], sleep=0.01), prompt=PromptTemplate.from_template("{q}"))
    outs = await asyncio.gather(*(chain.acall({"q": str(i)}, [rec]) for i in range(10)))
    roots = {o.run_info.run_id for o in outs}
    llm_starts = [e for e in rec.events if e.event == "on_llm_start"]
    assert {e.kwargs["parent_run_id"] for e in llm_starts} == roots
    by_prompt = {e.payload[0]: e.kwargs["parent_run_id"] for e in llm_starts}
    chain_starts = [e for e in rec.events if e.event == "on_chain_start"]
    assert len(by_prompt) == 10 and len(chain_starts) == 10


async def test_async_manager_configure_copies_a_manager() -> None:
    rec = Recorder()
    parent = AsyncCallbackManager([rec], [rec], parent_run_id=UUID(int=1))
    m = AsyncCallbackManager.configure(parent, None)
    assert m.is_async and m.handlers == [rec] and m.parent_run_id == UUID(int=1)
    m.add_handler(Recorder())
    assert len(parent.handlers) == 1  # configure copies

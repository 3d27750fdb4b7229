"""Tool, @tool and BaseTool: callbacks, errors, schemas, invoke, sync and async."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from opentelemetry import trace

from otelchain.callbacks import CallbackManagerForToolRun
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.schema import ToolCall, ToolMessage
from otelchain.tools import BaseTool, StructuredTool, Tool, ToolException, tool
from tests.helpers import Recorder, SpanHandler


def upper(text: str) -> str:
    return text.upper()


# --- Tool -------------------------------------------------------------------------------------


def test_tool_runs_with_callbacks_and_returns_text_with_run_info() -> None:
    log = Recorder()
    shout = Tool("shout", "Upper-cases text.", upper)
    out = shout.run("hi", callbacks=[log])
    assert out == "HI"
    assert log.labels() == ["tool_start:shout", "tool_end:shout"]
    start, end = log.events
    assert start.payload == "hi"  # input_str
    assert start.kwargs["inputs"] is None
    assert end.payload == "HI"
    assert out.run_info is not None and out.run_info.run_id == start.run_id


def test_tool_serialized_carries_name_and_description() -> None:
    shout = Tool("shout", "Upper-cases text.", upper)
    data = shout.serialized()
    assert data["name"] == "shout"
    assert data["description"] == "Upper-cases text."
    assert shout.parameters == shout.args_schema
    assert shout.args == {"tool_input": {"type": "string"}}


def test_tool_takes_a_single_value_dict() -> None:
    log = Recorder()
    shout = Tool("shout", "Upper-cases text.", upper)
    assert shout.run({"text": "ok"}, callbacks=[log]) == "OK"
    assert log.events[0].kwargs["inputs"] == {"text": "ok"}
    with pytest.raises(ToolException, match="single input"):
        shout.run({"a": "1", "b": "2"})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"name": "", "description": "d", "func": upper}, ValueError),
        ({"name": "x", "description": "d"}, ValueError),
        ({"name": "x", "description": "d", "func": "not callable"}, TypeError),
        ({"name": "x", "description": "d", "func": upper, "coroutine": upper}, TypeError),
    ],
)
def test_tool_constructor_checks(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        Tool(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "needs func or coroutine"),
        ({"func": "not callable"}, TypeError, "func must be callable"),
        ({"coroutine": upper}, TypeError, "coroutine must be an async function"),
    ],
)
def test_structured_tool_constructor_checks_like_tool(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        StructuredTool(name="x", description="d", **kwargs)


def test_bad_input_type_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="takes a str or a dict"):
        Tool("shout", "d", upper).run(42)  # type: ignore[arg-type]


def test_tool_exception_handling_options() -> None:
    def fail(_: str) -> str:
        raise ToolException("no such city")

    log = Recorder()
    with pytest.raises(ToolException):
        Tool("weather", "d", fail).run("x", callbacks=[log])
    assert log.labels() == ["tool_start:weather", "tool_error:weather"]

    assert Tool("weather", "d", fail, handle_tool_error=True).run("x") == "no such city"
    assert Tool("weather", "d", fail, handle_tool_error="try again").run("x") == "try again"
    handled = Tool("weather", "d", fail, handle_tool_error=lambda e: f"oops: {e}").run("x")
    assert handled == "oops: no such city"


def test_other_exceptions_propagate_after_on_tool_error() -> None:
    def broken(_: str) -> str:
        raise KeyError("boom")

    log = Recorder()
    with pytest.raises(KeyError):
        Tool("broken", "d", broken, handle_tool_error=True).run("x", callbacks=[log])
    assert log.labels() == ["tool_start:broken", "tool_error:broken"]
    assert isinstance(log.events[-1].payload, KeyError)


async def test_arun_prefers_the_coroutine() -> None:
    calls: list[str] = []

    def sync(text: str) -> str:
        calls.append("sync")
        return text

    async def coro(text: str) -> str:
        calls.append("async")
        return text + "!"

    log = Recorder()
    both = Tool("echo", "d", sync, coroutine=coro)
    assert await both.arun("a", callbacks=[log]) == "a!"
    assert both.run("b") == "b"
    assert calls == ["async", "sync"]
    assert log.labels() == ["tool_start:echo", "tool_end:echo"]


async def test_arun_without_coroutine_runs_func_in_a_thread() -> None:
    threads: list[int] = []

    def sync(text: str) -> str:
        threads.append(threading.get_ident())
        return text

    assert await Tool("echo", "d", sync).arun("a") == "a"
    assert threads and threads[0] != threading.get_ident()


def test_coroutine_only_tool_runs_from_sync_code() -> None:
    async def coro(text: str) -> str:
        await asyncio.sleep(0)
        return text * 2

    assert Tool("twice", "d", coroutine=coro).run("ab") == "abab"


async def test_coroutine_only_tool_sync_run_inside_a_loop_is_a_clear_error() -> None:
    async def coro(text: str) -> str:
        return text

    with pytest.raises(RuntimeError, match="use arun"):
        Tool("echo", "d", coroutine=coro).run("x")


def test_tool_function_can_take_callbacks_for_sub_runs() -> None:
    chain = LLMChain(llm=FakeListLLM(["4"]), prompt=PromptTemplate.from_template("{q}"))

    def ask(question: str, callbacks: Any = None) -> str:
        return str(chain.run(question, callbacks=callbacks))

    log = Recorder()
    assert Tool("ask", "d", ask).run("2+2", callbacks=[log]) == "4"
    assert log.labels() == [
        "tool_start:ask",
        "chain_start:llm_chain",
        "llm_start:fake-list",
        "llm_end:fake-list",
        "chain_end:llm_chain",
        "tool_end:ask",
    ]
    tool_run = log.events[0].run_id
    assert log.events[1].parent_run_id == tool_run


def test_request_and_constructor_callbacks_on_tools() -> None:
    local, request = Recorder(), Recorder()
    chain = LLMChain(llm=FakeListLLM(["x"]), prompt=PromptTemplate.from_template("{q}"))

    def ask(q: str, callbacks: Any = None) -> Any:
        return chain.run(q, callbacks=callbacks)

    nested = Tool("nested", "d", ask, callbacks=[local])
    nested.run("q", callbacks=[request])
    # Constructor callbacks: this tool's run only; request callbacks: the tool and its sub-runs.
    assert local.labels() == ["tool_start:nested", "tool_end:nested"]
    assert "chain_start:llm_chain" in request.labels()
    assert request.labels()[0] == "tool_start:nested"


def test_user_spans_inside_a_tool_nest_under_the_tool_span() -> None:
    spans = SpanHandler()
    seen: list[Any] = []

    def body(text: str) -> str:
        seen.append(trace.get_current_span())
        with spans.tracer.start_as_current_span("user work"):
            return text

    Tool("work", "d", body).run("x", callbacks=[spans])
    finished = spans.finished()
    tool_span, user_span = finished["tool work"], finished["user work"]
    assert user_span.parent is not None
    assert user_span.parent.span_id == tool_span.context.span_id
    assert seen[0].get_span_context().span_id == tool_span.context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached


async def test_user_spans_nest_under_the_tool_span_async() -> None:
    spans = SpanHandler()

    async def coro(text: str) -> str:
        with spans.tracer.start_as_current_span("user async"):
            return text

    def sync(text: str) -> str:
        with spans.tracer.start_as_current_span("user thread"):
            return text

    await Tool("a", "d", coroutine=coro).arun("x", callbacks=[spans])
    await Tool("t", "d", sync).arun("x", callbacks=[spans])
    finished = spans.finished()
    assert finished["user async"].parent.span_id == finished["tool a"].context.span_id  # type: ignore[union-attr]
    assert finished["user thread"].parent.span_id == finished["tool t"].context.span_id  # type: ignore[union-attr]


def test_run_name_and_run_id() -> None:
    import uuid

    log = Recorder()
    rid = uuid.uuid4()
    out = Tool("shout", "d", upper).run("a", callbacks=[log], run_name="loud", run_id=rid)
    assert log.events[0].run_id == rid
    assert log.events[0].kwargs["name"] == "loud"
    assert out.run_info.run_id == rid


# --- @tool / StructuredTool ---------------------------------------------------------------------


@tool
def multiply(a: int, b: int = 2) -> int:
    """Multiply two integers."""
    return a * b


def test_decorator_takes_name_description_and_schema_from_the_function() -> None:
    assert isinstance(multiply, StructuredTool)
    assert multiply.name == "multiply"
    assert multiply.description == "Multiply two integers."
    assert multiply.args_schema == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 2}},
        "required": ["a"],
    }
    assert multiply.parameters is multiply.args_schema
    assert multiply.to_openai_tool() == {
        "type": "function",
        "function": {
            "name": "multiply",
            "description": "Multiply two integers.",
            "parameters": multiply.args_schema,
        },
    }


def test_structured_tool_runs_with_validated_arguments() -> None:
    log = Recorder()
    assert multiply.run({"a": 3, "b": 4}, callbacks=[log]) == 12
    assert multiply.run({"a": "5"}) == 10  # coerced by the schema
    assert log.events[0].kwargs["inputs"] == {"a": 3, "b": 4}
    assert log.events[0].payload == "{'a': 3, 'b': 4}"


def test_structured_tool_rejects_bad_arguments_clearly() -> None:
    with pytest.raises(ToolException, match=r"invalid arguments for tool 'multiply': a: "):
        multiply.run({"a": "not a number"})
    with pytest.raises(ToolException, match="a: Field required"):
        multiply.run({"b": 1})
    with pytest.raises(ToolException, match="takes arguments"):
        multiply.run("3")
    # A JSON object string (what a ReAct agent writes after "Action Input:") is the arguments.
    assert multiply.run('{"a": 3, "b": 5}') == 15


def test_single_argument_structured_tool_accepts_a_string() -> None:
    @tool("shout")
    def loud(text: str) -> str:
        """Shout."""
        return text.upper()

    assert loud.name == "shout"
    assert loud.run("hey") == "HEY"
    assert loud.run({"text": "ho"}) == "HO"


def test_decorator_options_and_errors() -> None:
    @tool(return_direct=True, handle_tool_error=True)
    def lookup(key: str) -> str:
        """Look a key up."""
        raise ToolException(f"{key} not found")

    assert lookup.return_direct is True
    assert lookup.run("k") == "k not found"

    with pytest.raises(ValueError, match="docstring"):

        @tool
        def undocumented(x: int) -> int:
            return x

    with pytest.raises(TypeError):
        tool(42)  # type: ignore[call-overload]


def test_injected_parameters_are_not_in_the_schema() -> None:
    @tool
    def sub(q: str, callbacks: Any = None, run_manager: CallbackManagerForToolRun | None = None) -> str:
        """Sub-run."""
        assert run_manager is not None and callbacks is not None
        return q

    assert list(sub.args) == ["q"]
    assert sub.run("x") == "x"


async def test_async_decorated_tool() -> None:
    @tool
    async def fetch(url: str, retries: int = 1) -> str:
        """Fetch a URL."""
        await asyncio.sleep(0)
        return f"{url}:{retries}"

    log = Recorder()
    assert fetch.coroutine is not None and fetch.func is None
    assert await fetch.arun({"url": "u", "retries": 3}, callbacks=[log]) == "u:3"
    assert log.labels() == ["tool_start:fetch", "tool_end:fetch"]
    assert fetch.args_schema["required"] == ["url"]


# --- invoke -------------------------------------------------------------------------------------


def test_invoke_with_config_and_with_a_tool_call() -> None:
    log = Recorder()
    assert multiply.invoke({"a": 2, "b": 5}, {"callbacks": [log], "tags": ["t"]}) == 10
    assert log.events[0].kwargs["tags"] == ["t"]

    message = multiply.invoke(ToolCall("multiply", {"a": 6, "b": 7}, "call_1"))
    assert isinstance(message, ToolMessage)
    assert (message.content, message.tool_call_id, message.name) == ("42", "call_1", "multiply")

    @tool
    def info(key: str) -> dict[str, Any]:
        """Structured info."""
        return {"key": key, "ok": True}

    assert info.invoke(ToolCall("info", {"key": "k"}, "c3")).content == '{"key": "k", "ok": true}'

    as_dict = {"type": "tool_call", "name": "multiply", "args": {"a": 1}, "id": "c2"}
    assert multiply.invoke(as_dict).tool_call_id == "c2"

    with pytest.raises(TypeError, match="unknown config key"):
        multiply.invoke({"a": 1}, {"callbackz": []})


async def test_ainvoke() -> None:
    assert await multiply.ainvoke({"a": 2}) == 4
    message = await multiply.ainvoke(ToolCall("multiply", {"a": 3}, "c"))
    assert message.content == "6"


class Reverse(BaseTool):
    name = "reverse"
    description = "Reverse text."

    def _run(self, text: str, run_manager: CallbackManagerForToolRun) -> str:
        assert isinstance(run_manager, CallbackManagerForToolRun)
        return text[::-1]


async def test_subclassing_base_tool() -> None:
    log = Recorder()
    assert Reverse().run("abc", callbacks=[log]) == "cba"
    assert await Reverse().arun("xyz") == "zyx"
    assert log.labels() == ["tool_start:reverse", "tool_end:reverse"]
    assert repr(Reverse()) == "Reverse(name='reverse')"


def test_docstring_args_become_argument_descriptions() -> None:
    @tool
    def convert(amount: float, currency: str = "EUR") -> str:
        """Convert an amount of US dollars.

        Args:
            amount: How many dollars, may be
                fractional.
            currency (str): Target currency code.

        Returns:
            The converted amount.
        """
        return f"{amount} {currency}"

    props = convert.args
    assert props["amount"] == {"type": "number", "description": "How many dollars, may be fractional."}
    assert props["currency"]["description"] == "Target currency code."
    assert convert.description.startswith("Convert an amount of US dollars.")


def test_unusable_signature_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="cannot build an argument schema for tool 'hidden'"):

        @tool
        def hidden(_secret: int) -> int:
            """Hidden."""
            return _secret


def test_tool_call_id_reaches_the_tool_run() -> None:
    log = Recorder()
    multiply.invoke(ToolCall("multiply", {"a": 1}, "call_9"), {"callbacks": [log]})
    assert log.events[0].kwargs["tool_call_id"] == "call_9"
    plain = Recorder()
    multiply.invoke({"a": 1}, {"callbacks": [plain]})
    assert "tool_call_id" not in plain.events[0].kwargs


def test_coroutine_only_tool_gets_callbacks_from_sync_run() -> None:
    got: list[Any] = []

    async def coro(text: str, callbacks: Any = None) -> str:
        got.append(callbacks)
        return text

    log = Recorder()
    Tool("echo", "d", coroutine=coro).run("x", callbacks=[log])
    assert got[0] is not None and got[0].parent_run_id == log.events[0].run_id

"""What each run's span carries: names, kinds, parents, attributes, run ids, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from otelchain.callbacks import CallbackManagerForChainRun
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.schema import AIMessage, ChatGeneration, LLMResult, ToolCall
from otelchain.tracing import OpenTelemetryCallbackHandler
from tests.helpers import Boom, Traced, XYChain, all_strings, seed_chain, tree


def test_llm_chain_request_handler_gives_nested_spans(traced: Traced) -> None:
    out = seed_chain().call({"number": 2}, callbacks=[traced.handler])
    spans = traced.spans
    assert tree(spans) == [
        ("invoke_workflow llm_chain", None),
        ("text_completion fake-list", "invoke_workflow llm_chain"),
    ]
    chain, llm = traced.by_name("invoke_workflow llm_chain"), traced.by_name("text_completion fake-list")
    assert chain.kind is SpanKind.INTERNAL and llm.kind is SpanKind.CLIENT
    assert len({s.context.trace_id for s in spans}) == 1
    ca, la = dict(chain.attributes or {}), dict(llm.attributes or {})
    # run identity
    assert ca["otelchain.run_id"] == str(out.run_info.run_id)
    assert ca["otelchain.run_type"] == "chain" and "otelchain.parent_run_id" not in ca
    assert la["otelchain.parent_run_id"] == ca["otelchain.run_id"]
    assert la["otelchain.run_type"] == "llm"
    # RunInfo names the span
    assert out.run_info.trace_id == format(chain.context.trace_id, "032x")
    assert out.run_info.span_id == format(chain.context.span_id, "016x")
    # OpenInference
    assert ca["openinference.span.kind"] == "CHAIN" and la["openinference.span.kind"] == "LLM"
    # GenAI: the root chain is a workflow
    assert ca["gen_ai.operation.name"] == "invoke_workflow" and ca["gen_ai.workflow.name"] == "llm_chain"
    # single-key inputs and outputs unwrapped, a plain string not quoted (as OpenInference does)
    assert json.loads(str(ca["input.value"])) == {"number": 2}  # not a string: stays JSON
    assert ca["output.value"] == " 3\n\n3 - 1 = 2" and "output.mime_type" not in ca
    assert la["llm.prompts"] == ("1 + 2 =",)
    assert json.loads(str(la["input.value"])) == {"prompts": ["1 + 2 ="]}
    assert json.loads(str(la["output.value"]))["generations"][0][0]["text"] == " 3\n\n3 - 1 = 2"
    assert la["llm.output_messages.0.message.role"] == "assistant"
    assert la["llm.output_messages.0.message.content"] == " 3\n\n3 - 1 = 2"
    # GenAI
    assert la["gen_ai.operation.name"] == "text_completion"
    assert la["gen_ai.request.model"] == la["llm.model_name"] == "fake-list"
    assert la["gen_ai.response.model"] == "fake-list"
    assert la["gen_ai.response.finish_reasons"] == ("stop",)
    assert la["gen_ai.usage.input_tokens"] == la["llm.token_count.prompt"] == 4
    assert la["gen_ai.usage.output_tokens"] == la["llm.token_count.completion"] == 6
    assert la["llm.token_count.total"] == 10
    assert all(s.status.status_code is StatusCode.UNSET for s in spans)


def test_constructor_handler_on_the_model_only_sees_a_root_llm_span(traced: Traced) -> None:
    """A constructor handler sees runs whose parent it never saw: they nest under the ambient
    context (here none, so a new trace)."""
    chain = seed_chain(callbacks=[traced.handler])
    chain.call({"number": 2})
    assert tree(traced.spans) == [("text_completion fake-list", None)]
    assert "otelchain.parent_run_id" in (traced.spans[0].attributes or {})


def test_constructor_handler_on_model_and_chain_nests_them(traced: Traced) -> None:
    """The seed's built-in handler example: one handler given to both constructors."""
    llm = FakeListLLM(["3"], callbacks=[traced.handler])
    chain = LLMChain(
        llm=llm, prompt=PromptTemplate.from_template("1 + {number} ="), callbacks=[traced.handler]
    )
    chain.call({"number": 2})
    assert tree(traced.spans) == [
        ("invoke_workflow llm_chain", None),
        ("text_completion fake-list", "invoke_workflow llm_chain"),
    ]


def test_root_run_nests_under_the_ambient_span(traced: Traced) -> None:
    with traced.tracer().start_as_current_span("GET /joke") as request_span:
        out = seed_chain().call({"number": 2}, callbacks=[traced.handler])
    assert tree(traced.spans) == [
        ("GET /joke", None),
        ("invoke_workflow llm_chain", "GET /joke"),
        ("text_completion fake-list", "invoke_workflow llm_chain"),
    ]
    assert out.run_info.trace_id == format(request_span.get_span_context().trace_id, "032x")


def test_chat_model_span_has_messages_and_tool_calls(traced: Traced) -> None:
    class ToolCaller(FakeListChatModel):
        def _generate(self, input: Any, *, stop: Any, run_manager: Any, **kwargs: Any) -> LLMResult:
            msg = AIMessage(
                "",
                tool_calls=[ToolCall("calculator", {"expression": "2^8"}, "call_1")],
                response_metadata={
                    "model_name": "fake-chat-2024",
                    "finish_reason": "tool_calls",
                    "id": "r-1",
                },
                usage_metadata={"input_tokens": 11, "output_tokens": 7, "total_tokens": 18},
            )
            return LLMResult([[ChatGeneration(msg)]])

    model = ToolCaller(["unused"])
    model.call([("system", "You are terse."), ("user", "What is 2^8?")], callbacks=[traced.handler])
    (span,) = traced.spans
    a = dict(span.attributes or {})
    assert span.name == "chat fake-chat" and span.kind is SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["llm.input_messages.0.message.role"] == "system"
    assert a["llm.input_messages.0.message.content"] == "You are terse."
    assert a["llm.input_messages.1.message.role"] == "user"
    assert a["llm.input_messages.1.message.content"] == "What is 2^8?"
    base = "llm.output_messages.0.message.tool_calls.0.tool_call."
    assert a[base + "function.name"] == "calculator"
    assert json.loads(str(a[base + "function.arguments"])) == {"expression": "2^8"}
    assert a[base + "id"] == "call_1"
    assert a["gen_ai.response.model"] == "fake-chat-2024"
    assert a["gen_ai.response.id"] == "r-1"
    assert a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert a["gen_ai.usage.input_tokens"] == 11 and a["gen_ai.usage.output_tokens"] == 7
    assert a["llm.token_count.total"] == 18
    assert a["output.mime_type"] == "application/json"  # tool calls: the whole result as JSON


def test_request_settings_server_and_provider_from_invocation_params(traced: Traced) -> None:
    class Remote(FakeListLLM):
        def _invocation_params(self, stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
            params = super()._invocation_params(stop, **kwargs)
            params.update(
                temperature=0.2,
                max_tokens=64,
                top_p=0.9,
                seed=7,
                base_url="https://user:pw@llm.example.test:8443/v1",
                api_key="sk-never-on-a-span",
                _type="openai",
            )
            return params

    Remote(["ok"], model="gpt-test").call("hi", stop=["\n"], callbacks=[traced.handler])
    (span,) = traced.spans
    a = dict(span.attributes or {})
    assert span.name == "text_completion gpt-test"
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.request.max_tokens"] == 64
    assert a["gen_ai.request.top_p"] == 0.9
    assert a["gen_ai.request.seed"] == 7
    assert a["gen_ai.request.stop_sequences"] == ("\n",)
    assert a["gen_ai.provider.name"] == "openai"
    assert a["server.address"] == "llm.example.test" and a["server.port"] == 8443
    text = all_strings(traced.spans)
    assert "sk-never-on-a-span" not in text and "pw@" not in text


def test_tags_metadata_and_session_ids(traced: Traced) -> None:
    seed_chain().call(
        {"number": 2},
        callbacks=[traced.handler],
        tags=["prod", "v2"],
        metadata={"session_id": "s-1", "user_id": "u-9", "conversation_id": "c-3", "api_key": "sk-nope"},
    )
    for span in traced.spans:
        a = dict(span.attributes or {})
        assert a["otelchain.tags"] == ("prod", "v2")
        assert a["session.id"] == "s-1" and a["user.id"] == "u-9" and a["gen_ai.conversation.id"] == "c-3"
        meta = json.loads(str(a["metadata"]))
        assert meta["session_id"] == "s-1" and meta["api_key"] == "[REDACTED]"
    assert "sk-nope" not in all_strings(traced.spans)


@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        (ValueError("bad input"), "ValueError"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (json.JSONDecodeError("nope", "x", 0), "json.decoder.JSONDecodeError"),
    ],
)
def test_errors_end_the_span_with_status_type_and_event(
    traced: Traced, error: BaseException, error_type: str
) -> None:
    with pytest.raises(type(error)):
        Boom(error).call({"x": 1}, callbacks=[traced.handler])
    (span,) = traced.spans
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description and type(error).__name__ in span.status.description
    assert (span.attributes or {})["error.type"] == error_type
    (event,) = [e for e in span.events if e.name == "exception"]
    assert (event.attributes or {})["exception.type"] == error_type


def test_error_in_llm_ends_both_spans(traced: Traced) -> None:
    class Broken(FakeListLLM):
        def _generate(self, input: str, **kwargs: Any) -> LLMResult:
            raise ConnectionError("provider down")

    chain = LLMChain(llm=Broken(["x"]), prompt=PromptTemplate.from_template("{q}"))
    with pytest.raises(ConnectionError):
        chain.call({"q": "hi"}, callbacks=[traced.handler])
    assert len(traced.spans) == 2
    for span in traced.spans:
        assert span.status.status_code is StatusCode.ERROR
        assert (span.attributes or {})["error.type"] == "ConnectionError"


def test_description_is_short(traced: Traced) -> None:
    with pytest.raises(ValueError):
        Boom(ValueError("x" * 5000)).call({"x": 1}, callbacks=[traced.handler])
    assert len(traced.spans[0].status.description or "") < 400


def test_values_are_truncated_to_the_configured_length() -> None:
    from tests.helpers import make_traced

    t = make_traced(max_attribute_length=100)
    FakeListLLM(["y" * 1000]).call("x" * 1000, callbacks=[t.handler])
    a = dict(t.spans[0].attributes or {})
    for key in ("llm.prompts", "llm.output_messages.0.message.content"):
        value = str(a[key][0]) if key == "llm.prompts" else str(a[key])
        # the limit includes the note (issue 11: truncated values overshot it by the note)
        assert value.startswith("x" * 70 if key == "llm.prompts" else "y" * 70)
        assert len(value) == 100 and value.endswith("...[truncated 924 chars]")
    with pytest.raises(ValueError):
        OpenTelemetryCallbackHandler(t.provider, max_attribute_length=3)


def test_json_values_are_robust(traced: Traced) -> None:
    """Inputs of any shape become JSON (non-str keys, NaN, cycles, objects) without failing."""

    class Echo(XYChain):
        def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
            return {"y": inputs["x"]}

    cyclic: dict[str, Any] = {"nan": float("nan"), 1: "int key", "password": "hunter2"}
    cyclic["self"] = cyclic
    Echo().call({"x": cyclic}, callbacks=[traced.handler])
    a = dict(traced.spans[0].attributes or {})
    data = json.loads(str(a["input.value"]))
    assert data["x"]["1"] == "int key" and data["x"]["nan"] == "nan"
    assert data["x"]["password"] == "[REDACTED]" and data["x"]["self"] == "[circular]"
    assert "hunter2" not in all_strings(traced.spans)


def test_the_handler_never_raises_and_counts_failures() -> None:
    """A tracer that fails must not break runs; failures are counted and logged."""

    class BadTracer:
        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("tracer down")

    class BadProvider:
        def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
            return BadTracer()

    handler = OpenTelemetryCallbackHandler(BadProvider())  # type: ignore[arg-type]
    out = seed_chain().call({"number": 2}, callbacks=[handler])
    assert out == {"text": " 3\n\n3 - 1 = 2"} and out.run_info is not None and out.run_info.trace_id is None
    assert handler.error_counts == {"run start": 2}
    assert handler.runs == {}


def test_run_info_without_tracing_has_no_ids() -> None:
    out = seed_chain().call({"number": 2})
    assert out.run_info is not None and out.run_info.trace_id is None
    assert trace.get_current_span() is trace.INVALID_SPAN


@pytest.mark.parametrize("children", ["dropped with their parent", "kept by the sampler"])
def test_the_children_of_a_dropped_run_follow_the_sampler(children: str) -> None:
    """Under the default ``ParentBased`` sampler a dropped run's children are dropped too (the
    handler starts them without the SDK); a sampler that keeps such children is asked, and a
    span another instrumentation starts inside still nests under the run's span either way."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased

    keep = children == "kept by the sampler"
    sampler = ParentBased(ALWAYS_OFF, local_parent_not_sampled=ALWAYS_ON if keep else ALWAYS_OFF)
    provider = TracerProvider(sampler=sampler, shutdown_on_exit=False)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenTelemetryCallbackHandler(provider)
    seen: list[tuple[int, int]] = []

    class Probe(FakeListLLM):
        def _generate(self, input: Any, *, stop: Any, run_manager: Any, **kwargs: Any) -> LLMResult:
            run_span = trace.get_current_span().get_span_context()
            with provider.get_tracer("foreign").start_as_current_span("http") as foreign:
                parent = getattr(foreign, "parent", None) or foreign.get_span_context()
                seen.append((run_span.span_id, parent.span_id if foreign.is_recording() else -1))
            return super()._generate(input, stop=stop, run_manager=run_manager, **kwargs)

    chain = LLMChain(llm=Probe(responses=["2"]), prompt=PromptTemplate.from_template("1 + {n} ="))
    assert chain.run(n=1, callbacks=[handler]) == "2"
    ((run_span_id, foreign_parent_id),) = seen
    spans = {s.name: s for s in exporter.get_finished_spans()}
    if keep:  # the model run and the foreign span are recorded, nested, under the dropped chain
        assert set(spans) == {"text_completion fake-list", "http"}
        assert spans["http"].parent is not None
        assert spans["http"].parent.span_id == spans["text_completion fake-list"].context.span_id
        assert foreign_parent_id == run_span_id == spans["text_completion fake-list"].context.span_id
    else:
        assert spans == {} and foreign_parent_id == -1  # dropped too
        assert run_span_id != 0  # the model run had a span of its own (dropped) around its body
    assert handler.runs == {} and handler.error_counts == {}

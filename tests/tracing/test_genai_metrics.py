"""Spans and GenAI metrics of each run type: GenAI and OpenInference attributes, the client
metrics read back from an `InMemoryMetricReader`, context attributes, masking, conventions."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from otelchain.tracing._conventions.metrics import DURATION_BUCKETS, TOKEN_BUCKETS
from tests._servers.openai_server import OpenAIServer, Reply
from tests.helpers import Traced, all_strings, histogram_points, make_traced
from tests.helpers import scenarios as S


@dataclass
class Measured:
    """Spans in memory and metrics in an in-memory reader, for one handler."""

    traced: Traced
    reader: InMemoryMetricReader

    def points(self, name: str) -> list[HistogramDataPoint]:
        return histogram_points(self.reader, name)

    def span(self, name: str) -> dict[str, Any]:
        return dict(self.traced.by_name(name).attributes or {})


def _measured(**options: Any) -> Measured:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    return Measured(make_traced(meter_provider=provider, **options), reader)


@pytest.fixture
def m(monkeypatch: pytest.MonkeyPatch) -> Iterator[Measured]:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    measured = _measured()
    yield measured
    assert measured.traced.handler.runs == {}
    assert measured.traced.handler.error_counts == {}
    measured.traced.provider.shutdown()


def test_chat_with_tools(m: Measured, openai_server: OpenAIServer) -> None:
    message = S.chat_with_tools(openai_server, m.traced.handler)
    assert message.tool_calls[0].name == "get_weather"
    a = m.span("chat gpt-4o-mini")
    # GenAI: messages in the spec's schema, system instructions apart, tools offered
    assert json.loads(str(a["gen_ai.system_instructions"])) == [{"type": "text", "content": "You are terse."}]
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}], "name": "ann"}
    ]
    (out,) = json.loads(str(a["gen_ai.output.messages"]))
    assert out["role"] == "assistant" and out["finish_reason"] == "tool_calls"
    assert out["parts"] == [
        {"type": "tool_call", "name": "get_weather", "id": "call_1", "arguments": {"city": "Paris"}}
    ]
    assert json.loads(str(a["gen_ai.tool.definitions"])) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    assert a["gen_ai.provider.name"] == "openai" and a["gen_ai.response.model"] == "served-1"
    assert a["gen_ai.request.temperature"] == 0.3 and a["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] >= 0
    # OpenInference: tool-call arguments under tool_call.function.arguments, tools, parameters
    base = "llm.output_messages.0.message.tool_calls.0.tool_call."
    assert json.loads(str(a[base + "function.arguments"])) == {"city": "Paris"}
    assert a[base + "function.name"] == "get_weather" and a[base + "id"] == "call_1"
    assert a["llm.input_messages.1.message.name"] == "ann"
    assert a["llm.finish_reason"] == "tool_calls"
    assert a["llm.provider"] == "openai" and a["llm.system"] == "openai"
    assert a["llm.model_name"] == "served-1"
    params = json.loads(str(a["llm.invocation_parameters"]))
    assert params["temperature"] == 0.3 and params["model"] == "gpt-4o-mini"
    assert json.loads(str(a["llm.tools.0.tool.json_schema"]))["function"]["name"] == "get_weather"
    assert S.API_KEY not in all_strings(m.traced.spans)
    # metrics: one duration, input and output tokens, with the spec's buckets and low-cardinality attributes
    (duration,) = m.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and tuple(duration.explicit_bounds) == DURATION_BUCKETS
    assert dict(duration.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "served-1",
        "server.address": "127.0.0.1",
        "server.port": openai_server.port,
    }
    tokens = {p.attributes["gen_ai.token.type"]: p for p in m.points("gen_ai.client.token.usage")}  # type: ignore[index]
    assert set(tokens) == {"input", "output"}
    assert tokens["input"].sum == a["gen_ai.usage.input_tokens"]
    assert tuple(tokens["input"].explicit_bounds) == TOKEN_BUCKETS
    assert m.points("gen_ai.client.operation.time_to_first_chunk") == []  # not a stream


def test_streaming_chat_records_chunk_timings(m: Measured, openai_server: OpenAIServer) -> None:
    text = S.chat_streaming(openai_server, m.traced.handler)
    assert text == "It is sunny today"
    a = m.span("chat gpt-4o-mini")
    chunks = a["otelchain.streamed_tokens"]
    assert isinstance(chunks, int) and chunks >= 4
    assert a["gen_ai.request.stream"] is True and a["gen_ai.response.time_to_first_chunk"] >= 0
    (first,) = m.points("gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1 and first.attributes["gen_ai.operation.name"] == "chat"  # type: ignore[index]
    (per_chunk,) = m.points("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == chunks - 1
    out = json.loads(str(a["gen_ai.output.messages"]))
    assert out == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}
    ]


def test_completion(m: Measured, openai_server: OpenAIServer) -> None:
    S.completion(openai_server, m.traced.handler)
    a = m.span("text_completion gpt-3.5-turbo-instruct")
    assert a["llm.prompts"] == ("2 + 2 =",)
    assert json.loads(str(a["input.value"])) == {"prompts": ["2 + 2 ="]}
    assert json.loads(str(a["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "2 + 2 ="}]}
    ]
    assert a["llm.finish_reason"] == "stop" and a["llm.token_count.total"] > 0
    (duration,) = m.points("gen_ai.client.operation.duration")
    assert duration.attributes["gen_ai.operation.name"] == "text_completion"  # type: ignore[index]


def test_otelchain_tool(m: Measured) -> None:
    assert S.otelchain_tool(m.traced.handler) == "256"
    a = m.span("execute_tool calculator")
    assert a["gen_ai.tool.type"] == "function" and a["gen_ai.tool.name"] == "calculator"
    assert a["gen_ai.tool.call.arguments"] == "2^8" and a["gen_ai.tool.call.result"] == "256"
    assert a["input.value"] == "2^8" and a["output.value"] == "256" and "input.mime_type" not in a
    assert a["tool.name"] == "calculator" and a["openinference.span.kind"] == "TOOL"
    (duration,) = m.points("gen_ai.client.operation.duration")
    assert dict(duration.attributes or {}) == {"gen_ai.operation.name": "execute_tool"}


def test_langchain_core_tool_call(m: Measured) -> None:
    result = S.lc_tool_call(m.traced.handler)
    assert result.content == "12"
    a = m.span("execute_tool multiply")
    assert a["gen_ai.tool.call.id"] == "call_9"
    assert json.loads(str(a["gen_ai.tool.call.arguments"])) == {"a": 3, "b": 4}
    assert a["gen_ai.tool.call.result"] == "12"


def test_agent_gets_the_provider_of_its_model(m: Measured) -> None:
    assert S.otelchain_agent(m.traced.handler)["output"] == "256"
    a = m.span("invoke_agent agent_executor")
    chats = [s for s in m.traced.spans if s.name.startswith("chat ")]
    assert a["gen_ai.provider.name"] == (chats[0].attributes or {})["gen_ai.provider.name"]
    ops = sorted(
        str(p.attributes["gen_ai.operation.name"]) for p in m.points("gen_ai.client.operation.duration")
    )  # type: ignore[index]
    assert ops == ["chat", "execute_tool", "invoke_agent"]
    agent_point = next(
        p
        for p in m.points("gen_ai.client.operation.duration")
        if p.attributes["gen_ai.operation.name"] == "invoke_agent"
    )  # type: ignore[index]
    assert agent_point.attributes["gen_ai.provider.name"] == a["gen_ai.provider.name"]  # type: ignore[index]


def test_retriever(m: Measured) -> None:
    S.lc_retriever(m.traced.handler)
    a = m.span("Shelf")
    assert a["openinference.span.kind"] == "RETRIEVER" and a["input.value"] == "cats"
    assert a["retrieval.documents.0.document.content"] == "about cats"
    assert json.loads(str(a["retrieval.documents.1.document.metadata"])) == {"source": "b.txt"}
    assert m.points("gen_ai.client.operation.duration") == []  # not a GenAI operation


def test_prompt_templates_are_prompt_spans(m: Measured) -> None:
    S.lc_prompt_and_llm(m.traced.handler)
    S.lc_chat_prompt(m.traced.handler)
    S.otelchain_prompt_chain(m.traced.handler)
    prompt = m.span("PromptTemplate")
    assert prompt["openinference.span.kind"] == "PROMPT"
    assert prompt["llm.prompt_template.template"] == "Tell me about {topic}"
    assert json.loads(str(prompt["llm.prompt_template.variables"])) == {"topic": "owls"}
    chat = m.span("ChatPromptTemplate")
    assert chat["llm.prompt_template.template"] == "You are {mood}."
    assert json.loads(str(chat["llm.prompt_template.variables"])) == {"mood": "kind"}
    chain = m.span("invoke_workflow llm_chain")  # otelchain's LLMChain carries its prompt's template
    assert chain["llm.prompt_template.template"] == "1 + {number} ="
    assert json.loads(str(chain["llm.prompt_template.variables"])) == {"number": 2}


def test_multimodal_message_and_conversation(m: Measured) -> None:
    S.lc_multimodal_chat(m.traced.handler)
    (span,) = m.traced.spans
    a = dict(span.attributes or {})
    base = "llm.input_messages.1.message."
    assert a[base + "name"] == "bob" and a[base + "role"] == "user"
    assert a[base + "contents.0.message_content.type"] == "text"
    assert a[base + "contents.0.message_content.text"] == "What is this?"
    assert a[base + "contents.1.message_content.type"] == "image"
    assert a[base + "contents.1.message_content.image.image.url"] == S.IMAGE
    (user,) = json.loads(str(a["gen_ai.input.messages"]))
    assert user["parts"][1] == {
        "type": "blob",
        "modality": "image",
        "mime_type": "image/png",
        "content": "iVBORw0KGgo=",
    }
    assert a["gen_ai.conversation.id"] == "conv-7" and a["session.id"] == "conv-7"


def test_openinference_context_attributes(m: Measured) -> None:
    from openinference.instrumentation import using_attributes

    with using_attributes(
        session_id="s-1",
        user_id="u-1",
        metadata={"team": "a", "run": 1},
        tags=["t1"],
        prompt_template_version="v3",
    ):
        S.otelchain_prompt_chain(m.traced.handler)
    for span in m.traced.spans:
        a = dict(span.attributes or {})
        assert a["session.id"] == "s-1" and a["user.id"] == "u-1"
        assert json.loads(str(a["metadata"])) == {"team": "a", "run": 1}
        assert a["tag.tags"] == ("t1",) and a["llm.prompt_template.version"] == "v3"


def test_openinference_masking_variables(
    monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUTS", "true")
    monkeypatch.setenv("OPENINFERENCE_HIDE_OUTPUT_TEXT", "true")
    measured = _measured()
    S.chat_with_tools(openai_server, measured.traced.handler)
    a = measured.span("chat gpt-4o-mini")
    assert a["input.value"] == "__REDACTED__" and "input.mime_type" not in a
    assert not any(k.startswith(("llm.input_messages", "llm.tools")) for k in a)
    assert "gen_ai.input.messages" not in a and "gen_ai.system_instructions" not in a
    assert "Weather in Paris?" not in all_strings(measured.traced.spans)
    assert a["llm.output_messages.0.message.role"] == "assistant"  # outputs still there


def test_content_off_keeps_names_and_metrics(
    monkeypatch: pytest.MonkeyPatch, openai_server: OpenAIServer
) -> None:
    measured = _measured(capture_content=False)
    S.chat_with_tools(openai_server, measured.traced.handler)
    a = measured.span("chat gpt-4o-mini")
    for key in (
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "input.value",
        "output.value",
        "llm.prompts",
    ):
        assert key not in a
    assert "Paris" not in all_strings(measured.traced.spans)
    assert len(measured.points("gen_ai.client.operation.duration")) == 1


def test_failed_call_records_error_type(m: Measured, openai_server: OpenAIServer) -> None:
    openai_server.add(Reply(status=400, error_message="bad request"))
    from otelchain.chat_models import ChatOpenAI

    model = ChatOpenAI(model="gpt-4o-mini", api_key=S.API_KEY, base_url=openai_server.base_url, max_retries=0)
    with pytest.raises(Exception):  # noqa: B017 - the OpenAI client's own error type
        model.invoke("hi", callbacks=[m.traced.handler])
    (span,) = m.traced.spans
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = m.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == (span.attributes or {})["error.type"]  # type: ignore[index]
    assert not m.points("gen_ai.client.token.usage")


def _keys(spans: tuple[ReadableSpan, ...]) -> set[str]:
    return {k for s in spans for k in (s.attributes or {})}


def test_status_and_names_follow_the_conventions(openai_server: OpenAIServer) -> None:
    default = _measured()
    S.otelchain_prompt_chain(default.traced.handler)
    assert {s.status.status_code for s in default.traced.spans} == {StatusCode.UNSET}  # OTel: leave it unset
    only_oi = _measured(conventions="openinference")
    S.otelchain_prompt_chain(only_oi.traced.handler)
    S.lc_tool_call(only_oi.traced.handler)
    assert {s.status.status_code for s in only_oi.traced.spans} == {StatusCode.OK}  # OpenInference: OK
    assert {s.name for s in only_oi.traced.spans} == {"llm_chain", "fake-list", "multiply"}
    keys = _keys(only_oi.traced.spans)
    assert not any(k.startswith("gen_ai.") for k in keys)
    assert not any(k.startswith("otelchain.") for k in keys)  # exactly OpenInference's attributes
    assert "llm.prompt_template.template" in keys and "tool.name" in keys
    only_genai = _measured(conventions=["gen_ai"])
    S.otelchain_prompt_chain(only_genai.traced.handler)
    for span in only_genai.traced.spans:  # the lean default: GenAI, and a kind and input/output
        keys = set(span.attributes or {})  # only where GenAI has no attribute (the chain)
        assert not any(k.startswith(("llm.", "otelchain.")) for k in keys - {"otelchain.run_id"})
        op = (span.attributes or {}).get("gen_ai.operation.name")
        genai_run = op is not None and op != "invoke_workflow"  # a workflow is still a chain: GenAI
        assert genai_run is not any(k.startswith(("openinference.", "input.")) for k in keys), span.name
    assert len(only_genai.points("gen_ai.client.operation.duration")) == 1
    with pytest.raises(ValueError):
        make_traced(conventions="zipkin")


def test_text_and_image_masking_reaches_both_conventions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUT_TEXT", "true")
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUT_IMAGES", "true")
    monkeypatch.setenv("OPENINFERENCE_HIDE_OUTPUT_TEXT", "true")
    measured = _measured()
    S.lc_multimodal_chat(measured.traced.handler)
    (span,) = measured.traced.spans
    a = dict(span.attributes or {})
    assert a["llm.input_messages.1.message.contents.0.message_content.text"] == "__REDACTED__"
    assert a["llm.input_messages.1.message.contents.1.message_content.type"] == "image"
    assert "llm.input_messages.1.message.contents.1.message_content.image.image.url" not in a
    assert a["llm.output_messages.0.message.content"] == "__REDACTED__"
    (user,) = json.loads(str(a["gen_ai.input.messages"]))
    assert user["parts"] == [{"type": "text", "content": "__REDACTED__"}]
    assert json.loads(str(a["gen_ai.system_instructions"])) == [{"type": "text", "content": "__REDACTED__"}]
    (out,) = json.loads(str(a["gen_ai.output.messages"]))
    assert out["parts"] == [{"type": "text", "content": "__REDACTED__"}]
    # as in OpenInference, the *_TEXT / *_IMAGES variables mask messages; input.value and
    # output.value are masked by OPENINFERENCE_HIDE_INPUTS / _OUTPUTS (tested above)


def test_configured_meter_provider_shuts_down_once_quietly(caplog: pytest.LogCaptureFixture) -> None:
    """The app may shut down the MeterProvider configure() made before otelchain's exit flush
    does: the second shutdown is a no-op, not an SDK warning at exit."""
    from otelchain.tracing._setup.delivery import flush_at_exit
    from otelchain.tracing._setup.metrics import configure_metrics

    provider = configure_metrics(exporter="console", set_global=False)
    assert isinstance(provider, MeterProvider)
    provider.shutdown()
    assert flush_at_exit(provider, timeout=5.0)  # what the exit hook runs
    assert not [r for r in caplog.records if "shutdown can only be called once" in r.getMessage()]


def test_tracing_health_is_reported_as_metrics() -> None:
    """health() counts appear as observable counters on the handler's meter provider."""
    from otelchain.tracing import OpenTelemetryCallbackHandler, health, reset_health
    from otelchain.tracing._spans.health import count

    reset_health()
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    traced = make_traced()
    OpenTelemetryCallbackHandler(traced.provider, meter_provider=provider)
    count("values_truncated")
    count("values_truncated")
    count("spans_dropped")
    data = reader.get_metrics_data()
    points: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    points[(metric.name, tuple(sorted((point.attributes or {}).items())))] = point.value
    assert points[("otelchain.tracing.values", (("otelchain.change", "truncated"),))] == 2
    assert points[("otelchain.tracing.spans", (("otelchain.outcome", "dropped"),))] == 1
    assert points[("otelchain.tracing.spans", (("otelchain.outcome", "exported"),))] == 0
    assert points[("otelchain.tracing.handler_errors", ())] == health().handler_errors
    reset_health()
    provider.shutdown()
    traced.provider.shutdown()


def test_the_global_meter_provider_is_followed_once_set() -> None:
    """Without a meter provider a run costs no metric work; one set later is followed from the
    next run (in a subprocess: the global provider can be set once per process)."""
    import subprocess
    import sys

    script = """
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from otelchain.llms import FakeListLLM
from otelchain.tracing import OpenTelemetryCallbackHandler
from otelchain.tracing._conventions import metrics as m

handler = OpenTelemetryCallbackHandler()
recorder = handler.recorders[0]
assert recorder._idle()
FakeListLLM(["a"]).call("q", callbacks=[handler])
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
assert not recorder._idle()
FakeListLLM(["b"]).call("q", callbacks=[handler])
data = reader.get_metrics_data()
points = [p for rm in data.resource_metrics for sm in rm.scope_metrics for mt in sm.metrics
          if mt.name == "gen_ai.client.operation.duration" for p in mt.data.data_points]
print(sum(p.count for p in points))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # the run after the provider was set, not the one before


@pytest.mark.parametrize("how", ["set before otelchain is imported", "named by OTEL_PYTHON_METER_PROVIDER"])
def test_a_meter_provider_there_before_otelchain_gets_the_metrics(how: str) -> None:
    """``opentelemetry-instrument`` sets the global meter provider before it imports otelchain's
    instrumentor: the runs' metrics go to it (in a subprocess: the global provider is set once)."""
    import subprocess
    import sys

    script = """
import os
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

reader = InMemoryMetricReader()
if os.environ.get("OTEL_PYTHON_METER_PROVIDER"):
    import opentelemetry.metrics._internal as api
    api._load_provider = lambda *args: MeterProvider(metric_readers=[reader])  # the entry point's provider
else:
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
from otelchain.llms import FakeListLLM
from otelchain.tracing import OpenTelemetryCallbackHandler

FakeListLLM(["a"]).call("q", callbacks=[OpenTelemetryCallbackHandler()])
data = reader.get_metrics_data()
points = [p for rm in data.resource_metrics for sm in rm.scope_metrics for mt in sm.metrics
          if mt.name == "gen_ai.client.operation.duration" for p in mt.data.data_points]
print(sum(p.count for p in points))
"""
    env = dict(os.environ)
    env.pop("OTEL_PYTHON_METER_PROVIDER", None)
    if how.startswith("named"):
        env["OTEL_PYTHON_METER_PROVIDER"] = "sdk_meter_provider"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"

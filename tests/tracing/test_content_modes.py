"""Where content goes (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT), what the lean default
writes, what a sampled-out span costs, and images bounded in every attribute that carries them."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

from otelchain.tracing import OpenTelemetryCallbackHandler
from otelchain.tracing._conventions import view as view_module
from tests.helpers import make_traced
from tests.helpers import scenarios as S

ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
DETAILS = "gen_ai.client.inference.operation.details"
CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"}


def _chat(monkeypatch: pytest.MonkeyPatch, mode: str | None, **options: Any) -> ReadableSpan:
    if mode is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, mode)
    traced = make_traced(conventions="gen_ai", **options)
    model = FakeMessagesListChatModel(responses=[AIMessage("four")])
    model.invoke([SystemMessage("Add."), HumanMessage("2 + 2?")], config={"callbacks": [traced.handler]})
    (span,) = traced.spans
    return span


@pytest.mark.parametrize(
    ("mode", "on_span", "on_event"),
    [
        (None, True, False),  # the default: content on, on the span
        ("SPAN_ONLY", True, False),
        ("true", True, False),
        ("EVENT_ONLY", False, True),
        ("SPAN_AND_EVENT", True, True),
        ("NO_CONTENT", False, False),
        ("false", False, False),
    ],
)
def test_content_goes_where_the_variable_says(
    monkeypatch: pytest.MonkeyPatch, mode: str | None, on_span: bool, on_event: bool
) -> None:
    span = _chat(monkeypatch, mode)
    keys = set(span.attributes or {})
    assert (keys >= CONTENT_KEYS) is on_span and not (CONTENT_KEYS & keys and not on_span)
    events = [e for e in span.events if e.name == DETAILS]
    assert bool(events) is on_event
    if on_event:
        details = dict(events[0].attributes or {})
        assert json.loads(str(details["gen_ai.input.messages"]))[0]["parts"][0]["content"] == "2 + 2?"
        assert json.loads(str(details["gen_ai.output.messages"]))[0]["parts"][0]["content"] == "four"
        assert details["gen_ai.operation.name"] == "chat"
    text = json.dumps({k: str(v) for k, v in (span.attributes or {}).items()})
    assert ("2 + 2?" in text) is on_span


@pytest.mark.parametrize("mode", ["EVERYWHERE", "garbage", "NO CONTENT", "no-content"])
def test_an_unknown_mode_captures_nothing_and_warns_once_naming_the_valid_ones(
    mode: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Fail closed, as opentelemetry-util-genai does: a misspelt attempt to turn capture off must
    not export prompts. Only the unset variable means the (documented) default, on."""
    from otelchain import _options

    monkeypatch.setattr(_options, "_reported", set())
    caplog.set_level(logging.WARNING, "otelchain.tracing")
    span = _chat(monkeypatch, mode)
    _chat(monkeypatch, mode)
    keys = set(span.attributes or {})
    assert not CONTENT_KEYS & keys and not [e for e in span.events if e.name == DETAILS]
    assert "2 + 2?" not in json.dumps({k: str(v) for k, v in (span.attributes or {}).items()})
    warnings = [r.getMessage() for r in caplog.records if ENV in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert repr(mode) in warnings[0] and "using NO_CONTENT" in warnings[0]
    for valid in ("NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT", "true", "false"):
        assert valid in warnings[0]


def test_capture_content_takes_a_mode_name(monkeypatch: pytest.MonkeyPatch) -> None:
    span = _chat(monkeypatch, None, capture_content="EVENT_ONLY")
    assert not CONTENT_KEYS & set(span.attributes or {})
    assert [e.name for e in span.events] == [DETAILS]
    with pytest.raises(ValueError, match=r"capture_content.*NO_CONTENT"):
        make_traced(capture_content="sometimes")
    with pytest.raises(TypeError, match=r"capture_content.*bool"):
        make_traced(capture_content=3)


def test_the_lean_default_writes_each_fact_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default chat span: GenAI names only (plus the run id), no OpenInference duplicate."""
    monkeypatch.delenv("OTELCHAIN_CONVENTIONS", raising=False)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    S.lc_multimodal_chat(OpenTelemetryCallbackHandler(provider))
    (span,) = exporter.get_finished_spans()
    keys = set(span.attributes or {})
    assert len(keys) <= 15, sorted(keys)
    assert keys - {"otelchain.run_id"} == {k for k in keys if k.startswith("gen_ai.")}
    full = make_traced(conventions="all")
    S.lc_multimodal_chat(full.handler)
    (everything,) = full.spans
    assert len(everything.attributes or {}) > 2 * len(keys)


def test_a_sampled_out_run_builds_no_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing of a dropped span's content is read: no message view, no JSON, no attribute."""
    built: list[object] = []
    real = view_module.RunView.messages.func  # type: ignore[attr-defined]

    def spy(self: Any) -> Any:
        built.append(self)
        return real(self)

    monkeypatch.setattr(view_module.RunView, "messages", property(spy))
    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF), shutdown_on_exit=False)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenTelemetryCallbackHandler(provider, conventions="all")
    S.lc_multimodal_chat(handler)
    S.lc_tool_call(handler)
    assert built == [] and exporter.get_finished_spans() == ()
    assert handler.runs == {} and handler.error_counts == {}
    sampled = make_traced(conventions="all")
    S.lc_multimodal_chat(sampled.handler)
    assert built  # the same run, recorded: the view is read


def _image_chat(traced: Any, image: str) -> dict[str, Any]:
    content: list[Any] = [
        {"type": "text", "text": "what?"},
        {"type": "image_url", "image_url": {"url": image}},
    ]
    model = FakeMessagesListChatModel(responses=[AIMessage("a dot")])
    model.invoke([HumanMessage(content=content)], config={"callbacks": [traced.handler]})
    (span,) = traced.spans
    return dict(span.attributes or {})


def test_images_are_bounded_in_every_attribute_that_carries_them(monkeypatch: pytest.MonkeyPatch) -> None:
    image = "data:image/png;base64," + "A" * 5_000_000
    monkeypatch.setenv("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH", "1000")
    attrs = _image_chat(make_traced(conventions="all"), image)
    for key, value in attrs.items():
        assert "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" * 30 not in str(value), key
    for key in ("input.value", "gen_ai.input.messages", "gen_ai.output.messages"):
        json.loads(str(attrs[key]))  # bounded and still JSON
    assert "chars omitted]" in str(attrs["input.value"]) and "chars omitted]" in str(
        attrs["gen_ai.input.messages"]
    )
    assert attrs["input.mime_type"] == "application/json"


def test_hidden_images_leave_every_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENINFERENCE_HIDE_INPUT_IMAGES", "true")
    traced = make_traced(conventions="all")
    S.lc_multimodal_chat(traced.handler)
    (span,) = traced.spans
    text = json.dumps({k: str(v) for k, v in (span.attributes or {}).items()})
    assert S.IMAGE not in text and "iVBORw0KGgo" not in text


IMAGE_URL_KEY = "llm.input_messages.0.message.contents.1.message_content.image.image.url"


@pytest.mark.parametrize("limit", [None, "100000"])  # the default (32,000), and a larger one
def test_images_within_the_image_limit_stay_whole_past_the_text_bound(
    monkeypatch: pytest.MonkeyPatch, limit: str | None
) -> None:
    if limit is None:
        monkeypatch.delenv("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH", raising=False)
    else:
        monkeypatch.setenv("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH", limit)
    image = "data:image/png;base64," + "iVBORw0KGgo" * 1_900  # 20,922 characters, past 16 KiB
    attrs = _image_chat(make_traced(conventions="all"), image)
    inputs = json.loads(attrs["input.value"])
    assert inputs["messages"][0][0]["kwargs"]["content"][1]["image_url"]["url"] == image
    history = json.loads(attrs["gen_ai.input.messages"])
    assert history[0]["parts"][1] == {
        "type": "blob",
        "modality": "image",
        "mime_type": "image/png",
        "content": image.split(",", 1)[1],
    }
    assert attrs[IMAGE_URL_KEY] == image
    assert all(type(v) is str for v in attrs.values() if isinstance(v, str))


def test_the_spans_text_budget_still_holds_over_images_kept_whole() -> None:
    image = "data:image/png;base64," + "iVBORw0KGgo" * 1_900
    # room for the image once: the first attribute that carries it keeps it, the later two (of
    # input.value, gen_ai.input.messages, the flattened image URL) carry the marker
    attrs = _image_chat(make_traced(conventions="all", max_span_length=30_000), image)
    values = [v for v in attrs.values() if isinstance(v, str)]
    assert sum(map(len, values)) <= 30_000
    assert sum(image.split(",", 1)[1] in v for v in values) == 1
    for key in ("input.value", "gen_ai.input.messages", "gen_ai.output.messages"):
        json.loads(attrs[key])  # still JSON
    assert sum(f"[base64 image/png: {len(image)} chars omitted]" in v for v in values) == 2


def test_the_details_event_carries_the_image_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "EVENT_ONLY")
    image = "data:image/png;base64," + "iVBORw0KGgo" * 1_900
    traced = make_traced(conventions="gen_ai")
    _image_chat(traced, image)
    (span,) = traced.spans
    (event,) = [e for e in span.events if e.name == DETAILS]
    history = json.loads(str((event.attributes or {})["gen_ai.input.messages"]))
    assert history[0]["parts"][1]["content"] == image.split(",", 1)[1]
    assert type((event.attributes or {})["gen_ai.input.messages"]) is str


@pytest.mark.parametrize("mode", ["EVENT_ONLY", "SPAN_AND_EVENT"])
def test_the_details_event_is_held_to_the_spans_text_budget(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Content on the details event counts toward ``max_span_length`` like content on the span's
    attributes: one span never outgrows a batch (the JSON values stay valid)."""
    monkeypatch.setenv(ENV, mode)
    traced = make_traced(conventions="gen_ai", max_span_length=5_000)
    model = FakeMessagesListChatModel(responses=[AIMessage("b" * 40_000)])
    model.invoke([HumanMessage("a" * 40_000)], config={"callbacks": [traced.handler]})
    (span,) = traced.spans
    texts = [v for v in (span.attributes or {}).values() if isinstance(v, str)]
    for event in span.events:
        texts += [v for v in (event.attributes or {}).values() if isinstance(v, str)]
    assert 4_000 < sum(map(len, texts)) <= 5_000 + 200  # (+ the names set at the span's start)
    (event,) = [e for e in span.events if e.name == DETAILS]
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        if key in (event.attributes or {}):
            json.loads(str((event.attributes or {})[key]))


IMAGE_ENV = ("OPENINFERENCE_HIDE_INPUT_IMAGES", "OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH")


def _prompt_with_an_image(traced: Any, image: str, answer: str = "a cat") -> dict[str, dict[str, Any]]:
    """A chat prompt whose only variable is the image (so the chain's input value is the image
    itself), piped into a stand-in model; each span's attributes by run name."""
    content = [{"type": "text", "text": "describe"}, {"type": "image_url", "image_url": {"url": "{image}"}}]
    prompt = ChatPromptTemplate.from_messages([("user", content)])
    chain = prompt | RunnableLambda(lambda value: answer, name="model")
    chain.invoke({"image": image}, config={"callbacks": [traced.handler]})
    return {s.name.removeprefix("invoke_workflow "): dict(s.attributes or {}) for s in traced.spans}


@pytest.mark.parametrize("conventions", [None, "openinference"])  # the default (GenAI, lean), OpenInference
@pytest.mark.parametrize(
    ("env", "length", "whole"),
    [
        ({"OPENINFERENCE_HIDE_INPUT_IMAGES": "true"}, 4_030, False),
        ({"OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH": "100"}, 4_030, False),
        ({}, 80_000, False),  # past the default image limit (32,000): the marker, not 16 KiB of base64
        ({}, 20_922, True),  # within it: whole, past the 16 KiB text bound
    ],
)
def test_an_image_that_is_the_whole_input_value_is_bounded_as_an_image(
    monkeypatch: pytest.MonkeyPatch, conventions: str | None, env: dict[str, str], length: int, whole: bool
) -> None:
    monkeypatch.delenv("OTELCHAIN_CONVENTIONS", raising=False)
    for name in IMAGE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    image = ("data:image/png;base64," + "iVBORw0KGgo" * 8_000)[:length]
    spans = _prompt_with_an_image(make_traced(conventions=conventions), image)
    expected = image if whole else f"[base64 image/png: {length} chars omitted]"
    for name in ("ChatPromptTemplate", "RunnableSequence"):  # the input dict unwrapped to its string
        assert spans[name]["input.value"] == expected, name
        assert "input.mime_type" not in spans[name]
    model_input = json.loads(spans["model"]["input.value"])  # the same image as a leaf inside JSON
    assert model_input["messages"][0]["content"][1]["image_url"]["url"] == expected


@pytest.mark.parametrize("conventions", [None, "openinference"])
def test_an_image_that_is_the_whole_output_value_is_the_marker_past_the_bound(
    monkeypatch: pytest.MonkeyPatch, conventions: str | None
) -> None:
    monkeypatch.delenv("OTELCHAIN_CONVENTIONS", raising=False)
    image = "data:image/png;base64," + "iVBORw0KGgo" * 8_000
    spans = _prompt_with_an_image(make_traced(conventions=conventions), "data:image/png;base64,AA==", image)
    marker = f"[base64 image/png: {len(image)} chars omitted]"  # never the start of an image cut off
    assert spans["model"]["output.value"] == marker and spans["RunnableSequence"]["output.value"] == marker


@pytest.mark.parametrize("conventions", [None, "openinference"])
def test_a_tool_that_returns_an_image_has_the_marker_for_its_result(
    monkeypatch: pytest.MonkeyPatch, conventions: str | None
) -> None:
    monkeypatch.delenv("OTELCHAIN_CONVENTIONS", raising=False)
    image = "data:image/png;base64," + "iVBORw0KGgo" * 8_000

    @tool
    def draw(what: str) -> str:
        """Draw something."""
        return image

    traced = make_traced(conventions=conventions)
    draw.invoke({"what": "a cat"}, config={"callbacks": [traced.handler]})
    (span,) = traced.spans
    attrs = dict(span.attributes or {})
    key = "output.value" if conventions else "gen_ai.tool.call.result"
    assert attrs[key] == f"[base64 image/png: {len(image)} chars omitted]"


UPPER_CASE_IMAGE = "DATA:image/jpeg;BASE64," + "/9j/4AAQSkZJRg" * 1_500  # 21,023 characters


def test_an_upper_case_data_url_past_the_image_limit_is_the_marker_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """URL schemes and the base64 token are case-insensitive: ``DATA:...;BASE64,`` is an image."""
    monkeypatch.setenv("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH", "1000")
    image, data = UPPER_CASE_IMAGE, UPPER_CASE_IMAGE.split(",", 1)[1]
    attrs = _image_chat(make_traced(conventions="all"), image)
    for key, value in attrs.items():
        assert "/9j/4AAQSkZJRg" * 20 not in str(value), key
    history = json.loads(attrs["gen_ai.input.messages"])
    assert history[0]["parts"][1] == {
        "type": "blob",
        "modality": "image",
        "mime_type": "image/jpeg",
        "content": f"[base64 image/jpeg: {len(data)} chars omitted]",
    }
    inputs = json.loads(attrs["input.value"])
    url = inputs["messages"][0][0]["kwargs"]["content"][1]["image_url"]["url"]
    assert url == f"[base64 image/jpeg: {len(image)} chars omitted]"
    assert attrs[IMAGE_URL_KEY] == "__REDACTED__"


def test_an_upper_case_data_url_within_the_image_limit_stays_whole_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in IMAGE_ENV:
        monkeypatch.delenv(name, raising=False)
    image, data = UPPER_CASE_IMAGE, UPPER_CASE_IMAGE.split(",", 1)[1]
    attrs = _image_chat(make_traced(conventions="all"), image)
    history = json.loads(attrs["gen_ai.input.messages"])
    blob = {"type": "blob", "modality": "image", "mime_type": "image/jpeg", "content": data}
    assert history[0]["parts"][1] == blob
    inputs = json.loads(attrs["input.value"])
    assert inputs["messages"][0][0]["kwargs"]["content"][1]["image_url"]["url"] == image
    assert attrs[IMAGE_URL_KEY] == image

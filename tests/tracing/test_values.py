"""Span attribute values: json_text is the one encoder's JSON (as dumps writes it), made valid Unicode."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from otelchain._json import dumps
from otelchain.tracing._conventions.openinference_values import convert_io
from otelchain.tracing._spans.values import (
    Oversized,
    as_text,
    bound_attributes,
    json_text,
    string_text,
    truncate,
)
from tests.helpers import hot_json_shapes


class Settings(BaseModel):
    api_key: str = "sk-not-for-spans"
    retries: int = 2


class Broken(BaseModel):
    value: int = 1

    def model_dump(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("cannot dump")


def _cases() -> list[Any]:
    return [
        {"messages": [[SystemMessage("be brief"), HumanMessage("hi", additional_kwargs={"password": "x"})]]},
        [AIMessage("", tool_calls=[{"name": "f", "args": {"token": "t", "q": 1}, "id": "c1"}])],
        {"doc": Document(page_content="text", metadata={"source": "a", "n": 1})},
        {"tool": ToolMessage("out", tool_call_id="1")},
        {"settings": Settings()},
        {"model_class": Settings},
        {"broken": Broken()},
    ]


@pytest.mark.parametrize("index", range(7))
def test_pydantic_models_encode_as_the_robust_encoder_does(index: int) -> None:
    value = _cases()[index]
    assert json.loads(json_text(value, None)) == json.loads(dumps(value))


def test_secret_fields_of_models_are_redacted() -> None:
    text = json_text({"settings": Settings()}, None)
    assert "sk-not-for-spans" not in text
    assert json.loads(text) == {"settings": {"api_key": "[REDACTED]", "retries": 2}}


def _hot_shapes() -> list[Any]:
    return list(hot_json_shapes().values())


@pytest.mark.parametrize("index", range(6))
def test_json_text_is_dumps_for_the_hot_shapes(index: int) -> None:
    value = _hot_shapes()[index]
    for limit in (None, 16_384, 64):
        assert json_text(value, limit) == dumps(value, max_length=limit)
    assert len(json_text(value, 16_384)) <= 16_384


def test_the_llm_result_encodes_every_field() -> None:
    value = _hot_shapes()[2]
    assert json.loads(json_text(value, None)) == {
        "generations": [
            [
                {
                    "message": {
                        "type": "ai",
                        "content": "The capital of France is Paris.",
                        "name": None,
                        "additional_kwargs": {},
                        "id": None,
                        "tool_calls": [],
                        "usage_metadata": {"input_tokens": 7, "output_tokens": 6, "total_tokens": 13},
                        "response_metadata": {"model_name": "gpt-4o-mini", "finish_reason": "stop"},
                    },
                    "generation_info": {"finish_reason": "stop"},
                    "text": "The capital of France is Paris.",
                    "type": "ChatGeneration",
                }
            ]
        ],
        "llm_output": {
            "token_usage": {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13},
            "model_name": "gpt-4o-mini",
        },
        "run": None,
    }


def test_lone_surrogates_are_replaced_and_cuts_counted() -> None:
    from otelchain.tracing import health, reset_health

    reset_health()
    assert json_text({"k": "a\ud800b"}, None) == '{"k": "a\ufffdb"}'
    for limit in range(16, 30):  # cuts between the halves of surrogate pairs, and not
        text = json_text(["\ud83d\ude00" * 20], limit)
        assert len(text) <= limit and isinstance(json.loads(text), (list, str))
        assert text.encode("utf-8").decode("utf-8") == text
    assert json_text(["\ud83d\ude00"], 16) == '["\U0001f600"]'
    # sanitized: the lone surrogate, 13 cuts that keep an emoji (at 16 none is kept), the pair
    assert health().values_truncated == 14 and health().values_sanitized >= 2  # the lone one, the pair


IMAGE = "data:image/jpeg;base64," + "/9j/4AAQSkZJRg" * 1_500  # 21,023 characters
MARKER = f"[base64 image/jpeg: {len(IMAGE)} chars omitted]"


def test_a_json_value_with_an_image_kept_whole_passes_the_bound_untouched() -> None:
    value = {"messages": [[{"text": "x" * 20_000, "image_url": {"url": IMAGE}}]]}
    text = json_text(value, 16_384, 32_000)
    attrs: dict[str, Any] = {"input.value": text, "other": "y" * 20_000}
    used = bound_attributes(attrs, 16_384, 512 * 1024)
    assert type(attrs["input.value"]) is str and attrs["input.value"] == text  # whole, a plain str
    assert json.loads(attrs["input.value"])["messages"][0][0]["image_url"]["url"] == IMAGE
    assert len(attrs["other"]) == 16_384 and used == len(text) + 16_384  # other values still bounded


def test_past_the_spans_room_the_image_becomes_the_marker_and_the_value_still_parses() -> None:
    from otelchain.tracing import health, reset_health

    value = {"messages": [[{"text": "question", "image_url": {"url": IMAGE}}]]}
    text = json_text(value, 16_384, 32_000)
    reset_health()
    url = string_text(IMAGE, 16_384, 32_000)
    attrs: dict[str, Any] = {"before": "z" * 5_000, "input.value": text, "url": url}
    used = bound_attributes(attrs, 16_384, 20_000)  # room for 15,000 after the first value
    data = json.loads(attrs["input.value"])
    assert data == {"messages": [[{"text": "question", "image_url": {"url": MARKER}}]]}
    assert attrs["url"] == MARKER and type(attrs["url"]) is str
    assert used == 5_000 + len(attrs["input.value"]) + len(MARKER) <= 20_000
    assert health().values_truncated == 2


def test_image_urls_keep_what_the_text_bound_would_cut() -> None:
    assert string_text(IMAGE, 16_384, 32_000) == IMAGE and string_text(IMAGE, None, 32_000) == IMAGE
    assert string_text(IMAGE[:1_000], 16_384, 32_000) == IMAGE[:1_000]
    url = "https://example.com/" + "a" * 20_000  # not inline: text like any other
    assert len(string_text(url, 16_384, 32_000)) == 16_384
    attrs: dict[str, Any] = {"url": string_text(IMAGE, 16_384, 32_000)}
    bound_attributes(attrs, 16_384, None)
    assert attrs == {"url": IMAGE} and type(attrs["url"]) is str


def test_past_the_spans_room_a_json_value_is_cut_by_its_leaves_and_still_parses() -> None:
    """A JSON value within the text bound that meets a nearly full span is encoded again within
    what is left (its strings cut), never cut as text; plain text is cut with a note."""
    messages = [{"role": "user", "parts": [{"type": "text", "content": "x" * 3000}]}] * 3
    value = json_text(messages, 16_384)
    attrs: dict[str, Any] = {"gen_ai.input.messages": value, "note": "y" * 3000}
    used = bound_attributes(attrs, 16_384, room=2_000)
    cut = attrs["gen_ai.input.messages"]
    assert len(cut) <= 2_000 and cut != value
    parsed = json.loads(cut)
    assert parsed[0]["role"] == "user" and parsed[0]["parts"][0]["content"].startswith("xxx")
    assert attrs["note"].endswith("chars]")  # plain text: cut with a note, within what is left
    assert len(cut) + len(attrs["note"]) <= 2_000
    assert used == len(cut) + len(attrs["note"])
    text = "[not json" + "z" * 3000
    attrs = {"k": text}
    bound_attributes(attrs, 16_384, room=500)
    assert attrs["k"].startswith("[not json") and len(attrs["k"]) <= 500


def test_a_string_that_is_a_base64_image_is_bounded_as_an_image_leaf() -> None:
    from otelchain.tracing import health, reset_health

    reset_health()
    kept = string_text(IMAGE, 16_384, 32_000)  # within the image limit: whole, past the text bound
    assert kept == IMAGE and type(kept) is Oversized
    attrs: dict[str, Any] = {"input.value": kept}
    bound_attributes(attrs, 16_384, 512 * 1024)
    assert attrs == {"input.value": IMAGE} and type(attrs["input.value"]) is str
    small = IMAGE[:4_030]
    for images in (0, 100, len(IMAGE) - 1):  # past the image limit (0: hidden): the marker
        assert string_text(IMAGE, 16_384, images) == MARKER
    for images in (0, 100):  # whatever the text bound
        assert string_text(small, None, images) == f"[base64 image/jpeg: {len(small)} chars omitted]"
    assert health().values_truncated == 0  # what the image limit replaces is not a cut of the bound
    # no image limit (an output): whole within the bound, past it the marker, never half an image
    assert string_text(IMAGE, 32_000) == IMAGE and type(string_text(IMAGE, 32_000)) is str
    assert string_text(IMAGE, 16_384) == MARKER and health().values_truncated == 1
    upper = "DATA:image/jpeg;BASE64," + IMAGE.split(",", 1)[1]
    assert string_text(upper, 16_384, 1_000) == MARKER and string_text(upper, 16_384) == MARKER
    assert as_text(IMAGE, 16_384) == MARKER == json.loads(as_text([IMAGE], 16_384))[0]  # a string or JSON
    text = "x" * 20_000  # any other text: cut as text
    assert string_text(text, 16_384, 32_000) == truncate(text, 16_384)
    assert len(truncate(text, 16_384)) == 16_384


@pytest.mark.parametrize("length", [4_030, len(IMAGE), 80_000])
@pytest.mark.parametrize("images", [None, 0, 100, 32_000])
def test_a_string_image_input_or_output_is_what_the_same_image_in_json_becomes(
    images: int | None, length: int
) -> None:
    """An input or output value unwrapped to its string (a one-key mapping, or a string) is
    bounded as the same image inside a JSON value is: whole within the image limit, else the marker."""
    image = (IMAGE * 4)[:length]
    in_json = json.loads(json_text({"image": image, "q": "?"}, 16_384, images))["image"]
    for value in (image, {"image": image}, {"input": image}, {"output": image}):
        assert convert_io(value, 16_384, images) == (in_json, None)
    within = length <= (16_000 if images is None else images)  # no image limit: the text bound's
    assert in_json == (image if within else f"[base64 image/jpeg: {length} chars omitted]")

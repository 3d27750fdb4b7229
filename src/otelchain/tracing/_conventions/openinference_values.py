"""OpenInference mapping: the attribute shapes Phoenix renders, built from run data.

Pure functions the handler calls: input/output value format, flattened messages (multimodal
contents, names, tool calls), token-count details for the usage shapes providers report,
prompt templates, the context attributes ``openinference.instrumentation.using_*`` set (read
by their OTel context keys, so that package is never needed), and the ``OPENINFERENCE_HIDE_*``
masking variables.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.util.types import AttributeValue

from otelchain._json import image_mime, is_mapping
from otelchain.tracing import _names as A
from otelchain.tracing._spans.values import json_text, string_text, truncate

__all__ = [
    "Masking",
    "TokenCounts",
    "arguments_text",
    "context_attributes",
    "convert_io",
    "image_url",
    "MessageView",
    "message_attributes",
    "prompt_template",
    "provider_and_system",
    "token_count_attributes",
    "token_counts",
]

REDACTED = "__REDACTED__"
_TRUE = frozenset({"1", "true", "yes", "on"})
_DEFAULT_BASE64_IMAGE_MAX_LENGTH = 32_000


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Masking:
    """What OpenInference's ``OPENINFERENCE_HIDE_*`` variables ask to hide (all off by default)."""

    hide_inputs: bool = False
    hide_outputs: bool = False
    hide_input_messages: bool = False
    hide_output_messages: bool = False
    hide_input_images: bool = False
    hide_input_text: bool = False
    hide_output_text: bool = False
    hide_invocation_parameters: bool = False
    hide_llm_tools: bool = False
    base64_image_max_length: int = _DEFAULT_BASE64_IMAGE_MAX_LENGTH

    @classmethod
    def from_env(cls) -> Masking:
        """The masking the environment asks for (the variables OpenInference's TraceConfig reads)."""
        raw = os.environ.get("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH", "").strip()
        try:
            limit = int(raw) if raw else _DEFAULT_BASE64_IMAGE_MAX_LENGTH
        except ValueError:
            limit = _DEFAULT_BASE64_IMAGE_MAX_LENGTH
        return cls(
            hide_inputs=_flag("OPENINFERENCE_HIDE_INPUTS"),
            hide_outputs=_flag("OPENINFERENCE_HIDE_OUTPUTS"),
            hide_input_messages=_flag("OPENINFERENCE_HIDE_INPUT_MESSAGES"),
            hide_output_messages=_flag("OPENINFERENCE_HIDE_OUTPUT_MESSAGES"),
            hide_input_images=_flag("OPENINFERENCE_HIDE_INPUT_IMAGES"),
            hide_input_text=_flag("OPENINFERENCE_HIDE_INPUT_TEXT"),
            hide_output_text=_flag("OPENINFERENCE_HIDE_OUTPUT_TEXT"),
            hide_invocation_parameters=_flag("OPENINFERENCE_HIDE_LLM_INVOCATION_PARAMETERS"),
            hide_llm_tools=_flag("OPENINFERENCE_HIDE_LLM_TOOLS"),
            base64_image_max_length=max(0, limit),
        )

    @property
    def image_limit(self) -> int:
        """Base64 images in input values longer than this become a marker (0: all, when hidden)."""
        return 0 if self.hide_input_images else self.base64_image_max_length

    def input_messages(self) -> bool:
        return not (self.hide_inputs or self.hide_input_messages)

    def output_messages(self) -> bool:
        return not (self.hide_outputs or self.hide_output_messages)


NO_MASKING = Masking()


def _looks_json(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and (
        (stripped[0] == "{" and stripped[-1] == "}") or (stripped[0] == "[" and stripped[-1] == "]")
    )


def convert_io(obj: Any, limit: int | None, images: int | None = None) -> tuple[str, str | None] | None:
    """(value, mime type or None for plain text) as OpenInference writes input/output values.

    A single-key mapping is unwrapped: its string value is written as is (JSON mime type only
    when it looks like JSON); the non-string value of an ``input``/``output`` key as JSON.
    Anything else is JSON. Empty values give None. ``images``: the image limit (see
    `json_text`); a string that is a base64 image is bounded as the same image inside JSON is
    (`string_text`).
    """
    if obj is None:
        return None
    if not is_mapping(obj):
        if isinstance(obj, str):
            return string_text(obj, limit, images), (A.MIME_JSON if _looks_json(obj) else None)
        text = json_text(obj, limit, images)
        return text, (A.MIME_JSON if _looks_json(text) else None)
    if not obj:
        return None
    if len(obj) == 1:
        key, value = next(iter(obj.items()))
        if isinstance(value, str):
            return string_text(value, limit, images), (A.MIME_JSON if _looks_json(value) else None)
        if key in ("input", "output"):
            text = json_text(value, limit, images)
            return text, (A.MIME_JSON if _looks_json(text) else None)
    return json_text(obj, limit, images), A.MIME_JSON


# --- messages ----------------------------------------------------------------------------------
_ROLE_BY_TYPE = {
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "AIMessageChunk": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "function",
}


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` of a mapping, else the attribute (None when missing)."""
    return obj.get(key) if is_mapping(obj) else getattr(obj, key, None)


class MessageView:
    """What the conventions read from one message (a message object, a dict in the OpenAI or
    LangChain shape, or a ``(role, content)`` tuple), read once and shared by OpenInference's
    flattened attributes and the GenAI JSON messages."""

    __slots__ = ("content", "function_call", "name", "role", "tool_call_id", "tool_calls")

    def __init__(self, message: Any) -> None:
        self.name: str | None = None
        self.tool_call_id: str | None = None
        self.function_call: Mapping[str, Any] | None = None
        self.tool_calls: list[tuple[str | None, str | None, Any]] = []
        if type(message) is tuple and len(message) == 2:
            role = message[0]
            self.role = _ROLE_BY_TYPE.get(role, role) if isinstance(role, str) else None
            self.content: Any = message[1]
            return
        get = message.get if is_mapping(message) else _attribute_reader(message)
        self.content = get("content", None)
        name = get("name", None)
        self.name = name if isinstance(name, str) and name else None
        call_id = get("tool_call_id", None)
        self.tool_call_id = str(call_id) if call_id else None
        extra = get("additional_kwargs", None)
        extra = extra if extra and is_mapping(extra) else None
        function_call = extra.get("function_call") if extra is not None else None
        self.function_call = function_call if is_mapping(function_call) else None
        direct = get("tool_calls", None)
        calls = direct or (extra.get("tool_calls") if extra is not None else None)
        if calls:
            self.tool_calls = _tool_calls(calls)
        self.role = _role_of(get("role", None), get("type", None), call_id, direct)


# Per class: the attribute names its instances can have, when the class declares them all (a
# pydantic model's fields, a dataclass's); None: read any name. A missing attribute of a pydantic
# model costs an AttributeError raised by its __getattr__, so names it cannot have are not read.
_NAMES: dict[type, frozenset[str] | None] = {}


def _declared_names(cls: type) -> frozenset[str] | None:
    if cls in _NAMES:
        return _NAMES[cls]
    names: frozenset[str] | None = None
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, Mapping):
        names = frozenset(fields) | frozenset(dir(cls))
    elif dataclasses.is_dataclass(cls):
        names = frozenset(f.name for f in dataclasses.fields(cls)) | frozenset(dir(cls))
    if len(_NAMES) < 4096:
        _NAMES[cls] = names
    return names


def _attribute_reader(obj: Any) -> Callable[[str, Any], Any]:
    """``getattr(obj, name, default)`` that skips names ``obj``'s class cannot have."""
    names = _declared_names(type(obj))
    if names is None:
        return functools.partial(getattr, obj)
    extra = getattr(obj, "__pydantic_extra__", None) or ()  # a model's undeclared fields

    def read(name: str, default: Any) -> Any:
        return getattr(obj, name, default) if name in names or name in extra else default

    return read


def _role_of(role: Any, kind: Any, call_id: Any, calls: Any) -> str | None:
    if isinstance(role, str) and role:
        return _ROLE_BY_TYPE.get(role, role)
    if isinstance(kind, str):
        if kind in ("chat", "ChatMessageChunk", "remove"):
            return None
        mapped = _ROLE_BY_TYPE.get(kind)
        if mapped:
            return mapped
        if kind.endswith("Chunk"):
            return _ROLE_BY_TYPE.get(kind.removesuffix("MessageChunk").lower())
    if call_id:
        return "tool"
    if calls:
        return "assistant"
    return None


def _tool_calls(calls: Any) -> list[tuple[str | None, str | None, Any]]:
    """(id, name, arguments) of each tool call (LangChain or OpenAI shape)."""
    out: list[tuple[str | None, str | None, Any]] = []
    for call in calls if isinstance(calls, (list, tuple)) else ():
        if not call:
            continue
        function = get(call, "function")
        if is_mapping(function):
            name, args = function.get("name"), function.get("arguments")
        else:
            name, args = get(call, "name"), get(call, "args")
        call_id = get(call, "id")
        out.append((str(call_id) if call_id else None, str(name) if name else None, args))
    return out


def arguments_text(args: Any, limit: int | None) -> str:
    """Tool-call arguments as a JSON string (a string is kept as the provider sent it)."""
    return truncate(args, limit) if isinstance(args, str) else json_text(args, limit)


def message_attributes(
    prefix: str,
    index: int,
    message: MessageView,
    limit: int | None,
    *,
    hide_text: bool = False,
    hide_images: bool = False,
    image_max_length: int = _DEFAULT_BASE64_IMAGE_MAX_LENGTH,
    max_items: int = 32,
) -> Iterator[tuple[str, AttributeValue]]:
    """The ``{prefix}.{index}.message.*`` attributes of one message, as OpenInference flattens it."""
    base = f"{prefix}.{index}."
    if message.role:
        yield base + A.MESSAGE_ROLE, message.role
    content = message.content
    if isinstance(content, str):
        if content:
            yield base + A.MESSAGE_CONTENT, REDACTED if hide_text else truncate(content, limit)
    elif isinstance(content, list):
        for j, part in enumerate(content[:max_items]):
            yield from _content_part(
                f"{base}{A.MESSAGE_CONTENTS}.{j}.", part, limit, hide_text, hide_images, image_max_length
            )
    if message.name:
        yield base + A.MESSAGE_NAME, message.name
    if message.tool_call_id:
        yield base + A.MESSAGE_TOOL_CALL_ID, message.tool_call_id
    function_call = message.function_call
    if function_call is not None:
        if function_call.get("name"):
            yield base + A.MESSAGE_FUNCTION_CALL_NAME, str(function_call["name"])
        if function_call.get("arguments"):
            yield base + A.MESSAGE_FUNCTION_CALL_ARGUMENTS, arguments_text(function_call["arguments"], limit)
    for j, (call_id, call_name, args) in enumerate(message.tool_calls[:max_items]):
        call_base = f"{base}{A.MESSAGE_TOOL_CALLS}.{j}."
        if call_id:
            yield call_base + A.TOOL_CALL_ID, call_id
        if call_name:
            yield call_base + A.TOOL_CALL_FUNCTION_NAME, call_name
        if args:
            yield call_base + A.TOOL_CALL_FUNCTION_ARGUMENTS, arguments_text(args, limit)


def _content_part(
    base: str,
    part: Any,
    limit: int | None,
    hide_text: bool,
    hide_images: bool,
    image_max_length: int,
) -> Iterator[tuple[str, AttributeValue]]:
    if isinstance(part, str):
        yield base + A.MESSAGE_CONTENT_TYPE, "text"
        yield base + A.MESSAGE_CONTENT_TEXT, REDACTED if hide_text else truncate(part, limit)
        return
    if not is_mapping(part):
        return
    kind = part.get("type")
    if kind == "text":
        yield base + A.MESSAGE_CONTENT_TYPE, "text"
        text = part.get("text")
        if isinstance(text, str) and text:
            yield base + A.MESSAGE_CONTENT_TEXT, REDACTED if hide_text else truncate(text, limit)
    elif kind in ("image_url", "image"):
        yield base + A.MESSAGE_CONTENT_TYPE, "image"
        url = image_url(part)
        if url and not hide_images:
            if len(url) > image_max_length and image_mime(url) is not None:  # a base64 data URL
                url = REDACTED
            yield f"{base}{A.MESSAGE_CONTENT_IMAGE}.{A.IMAGE_URL}", string_text(url, limit, image_max_length)


def image_url(part: Mapping[str, Any]) -> str | None:
    """The URL (or data URL) of an image content part in the OpenAI or LangChain shape."""
    image = part.get("image_url")
    if is_mapping(image):
        url = image.get("url")
        return url if isinstance(url, str) else None
    if isinstance(image, str):
        return image
    url = part.get("url")
    if isinstance(url, str):
        return url
    data = part.get("base64") or part.get("data")
    if isinstance(data, str):
        mime = part.get("mime_type") or "image/png"
        return f"data:{mime};base64,{data}"
    return None


# --- token counts ------------------------------------------------------------------------------
@dataclass
class TokenCounts:
    """Token usage normalised across provider shapes (None: not reported)."""

    prompt: int | None = None
    completion: int | None = None
    total: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    prompt_audio: int | None = None
    completion_audio: int | None = None
    reasoning: int | None = None


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


# Usage keys that carry cache, audio or reasoning details (OpenAI, Gemini, LangChain, Anthropic).
_DETAIL_KEYS = frozenset(
    {
        "prompt_tokens_details",
        "completion_tokens_details",
        "cached_content_token_count",
        "thoughts_token_count",
        "input_token_details",
        "output_token_details",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    }
)


def _first_int(mapping: Any, keys: tuple[str, ...]) -> int | None:
    if not is_mapping(mapping):
        return None
    for key in keys:
        value = _int(mapping.get(key))
        if value is not None:
            return value
    return None


def _usage_source(response: Any) -> Any:
    """The usage mapping of a response: ``llm_output`` (non-streaming), else the first
    message's ``usage_metadata`` (streaming), else the first generation's ``usage_metadata``
    (Vertex/Gemini)."""
    llm_output = getattr(response, "llm_output", None)
    if is_mapping(llm_output):
        usage = llm_output.get("token_usage") or llm_output.get("usage")
        if is_mapping(usage) and usage:
            return usage
    generations = getattr(response, "generations", None) or []
    first = generations[0][0] if generations and generations[0] else None
    if first is None:
        return None
    message = getattr(first, "message", None)
    usage = getattr(message, "usage_metadata", None)
    if is_mapping(usage) and usage:
        return usage
    info = getattr(first, "generation_info", None)
    if is_mapping(info):
        usage = info.get("usage_metadata")
        if is_mapping(usage) and usage:
            return usage
    return None


def token_counts(response: Any) -> TokenCounts:
    """Token counts of an LLM result in the OpenAI, Anthropic, LangChain ``UsageMetadata`` or
    Gemini shape, with their cache, audio and reasoning details."""
    usage = _usage_source(response)
    counts = TokenCounts()
    if not is_mapping(usage):
        return counts
    counts.prompt = _first_int(usage, ("prompt_tokens", "input_tokens", "prompt_token_count"))
    counts.completion = _first_int(usage, ("completion_tokens", "output_tokens", "candidates_token_count"))
    counts.total = _first_int(usage, ("total_tokens", "total_token_count"))
    if not _DETAIL_KEYS.isdisjoint(usage):  # most usage has no details: skip their lookups
        # OpenAI details
        prompt_details = usage.get("prompt_tokens_details")
        completion_details = usage.get("completion_tokens_details")
        counts.cache_read = _first_int(prompt_details, ("cached_tokens",))
        counts.prompt_audio = _first_int(prompt_details, ("audio_tokens",))
        counts.completion_audio = _first_int(completion_details, ("audio_tokens",))
        counts.reasoning = _first_int(completion_details, ("reasoning_tokens",))
        # Gemini details
        if counts.cache_read is None:
            counts.cache_read = _first_int(usage, ("cached_content_token_count",))
        if counts.reasoning is None:
            counts.reasoning = _first_int(usage, ("thoughts_token_count",))
        # LangChain UsageMetadata
        input_details = usage.get("input_token_details")
        output_details = usage.get("output_token_details")
        if is_mapping(input_details) or is_mapping(output_details):
            counts.prompt_audio = _first_int(input_details, ("audio",)) or counts.prompt_audio
            counts.cache_write = _first_int(input_details, ("cache_creation",)) or counts.cache_write
            counts.cache_read = _first_int(input_details, ("cache_read",)) or counts.cache_read
            counts.completion_audio = _first_int(output_details, ("audio",)) or counts.completion_audio
            counts.reasoning = _first_int(output_details, ("reasoning",)) or counts.reasoning
            cached = (counts.cache_write or 0) + (counts.cache_read or 0)
            if (
                cached
                and counts.prompt is not None
                and counts.completion is not None
                and counts.total is not None
            ):
                # Bedrock reports cache tokens outside input_tokens; the prompt count includes them.
                if counts.total == counts.prompt + counts.completion + cached:
                    counts.prompt += cached
                elif counts.prompt < cached:
                    counts.prompt += cached
                    counts.total += cached
        # Raw Anthropic usage: input_tokens excludes the cache reads and writes.
        read = _int(usage.get("cache_read_input_tokens"))
        write = _int(usage.get("cache_creation_input_tokens"))
        if (read is not None or write is not None) and counts.prompt is not None:
            counts.prompt += (read or 0) + (write or 0)
            counts.cache_read = read or counts.cache_read
            counts.cache_write = write or counts.cache_write
    if counts.total is None and counts.prompt is not None and counts.completion is not None:
        counts.total = counts.prompt + counts.completion
    return counts


def token_count_attributes(counts: TokenCounts) -> Iterator[tuple[str, AttributeValue]]:
    """``llm.token_count.*`` for the counts that were reported (details only when non-zero)."""
    for key, value in (
        (A.LLM_TOKEN_COUNT_PROMPT, counts.prompt),
        (A.LLM_TOKEN_COUNT_COMPLETION, counts.completion),
        (A.LLM_TOKEN_COUNT_TOTAL, counts.total),
    ):
        if value is not None:
            yield key, value
    for key, value in (
        (A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ, counts.cache_read),
        (A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE, counts.cache_write),
        (A.LLM_TOKEN_COUNT_PROMPT_DETAILS_AUDIO, counts.prompt_audio),
        (A.LLM_TOKEN_COUNT_COMPLETION_DETAILS_AUDIO, counts.completion_audio),
        (A.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING, counts.reasoning),
    ):
        if value:
            yield key, value


# --- prompt templates --------------------------------------------------------------------------
def _cls_name(serialized: Any) -> str:
    ids = serialized.get("id") if is_mapping(serialized) else None
    return ids[-1] if isinstance(ids, list) and ids and isinstance(ids[-1], str) else ""


def prompt_template(inputs: Any, serialized: Any) -> tuple[str, dict[str, Any]] | None:
    """(template, the variables it was filled with) of a prompt-template run, else None.

    A chat prompt template gives its first message template (one span has room for one), with
    its partial variables.
    """
    if not is_mapping(serialized):
        return None
    kwargs = serialized.get("kwargs")
    if not kwargs or not is_mapping(kwargs):  # most runs: nothing to look at
        return None
    values: Mapping[str, Any] = inputs if is_mapping(inputs) else {}
    name = _cls_name(serialized)
    nested = kwargs.get("prompt")
    if _cls_name(nested).endswith("PromptTemplate"):
        return prompt_template(values, nested)
    if is_mapping(nested) and isinstance(nested.get("template"), str):
        # otelchain's LLMChain: {"prompt": {"template": ..., "input_variables": [...]}}
        return prompt_template(values, {"id": ["PromptTemplate"], "kwargs": nested})
    if name.endswith("ChatPromptTemplate"):
        messages = kwargs.get("messages")
        if not isinstance(messages, list) or not messages:
            return None
        partial = kwargs.get("partial_variables")
        if is_mapping(partial):
            values = {**partial, **values}
        return prompt_template(values, messages[0])
    template = kwargs.get("template")
    if name.endswith("PromptTemplate") and isinstance(template, str):
        names = kwargs.get("input_variables")
        variables = {
            key: values[key]
            for key in (names if isinstance(names, list) else values)
            if isinstance(key, str) and values.get(key) is not None
        }
        return template, variables
    return None


# --- context attributes ------------------------------------------------------------------------
# The OTel context keys `openinference.instrumentation.using_attributes` and friends set: each
# is the span attribute name itself.
_CONTEXT_KEYS = (
    A.SESSION_ID,
    A.USER_ID,
    A.OI_METADATA,
    A.OI_TAGS,
    A.LLM_PROMPT_TEMPLATE,
    A.LLM_PROMPT_TEMPLATE_VERSION,
    A.LLM_PROMPT_TEMPLATE_VARIABLES,
)


_CONTEXT_KEY_SET = frozenset(_CONTEXT_KEYS)


def context_attributes() -> dict[str, AttributeValue]:
    """The OpenInference context attributes set in the current OTel context (often none)."""
    out: dict[str, AttributeValue] = {}
    current = otel_context.get_current()
    if not current or _CONTEXT_KEY_SET.isdisjoint(current):
        return out
    for key in _CONTEXT_KEYS:
        value = current.get(key)
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            out[key] = list(value)
    return out


# --- provider ----------------------------------------------------------------------------------
# LangChain's ls_provider -> (llm.provider, llm.system), as OpenInference maps them.
_PROVIDER_SYSTEM: dict[str, tuple[str, str | None]] = {
    "anthropic": ("anthropic", "anthropic"),
    "azure": ("azure", "openai"),
    "azure_ai": ("azure", "openai"),
    "azure_openai": ("azure", "openai"),
    "bedrock": ("aws", None),
    "bedrock_converse": ("aws", None),
    "cohere": ("cohere", "cohere"),
    "deepseek": ("deepseek", None),
    "google": ("google", "vertexai"),
    "google_anthropic_vertex": ("google", "anthropic"),
    "google_genai": ("google", "vertexai"),
    "google_vertexai": ("google", "vertexai"),
    "groq": ("groq", "openai"),
    "mistralai": ("mistralai", "mistralai"),
    "ollama": ("ollama", "openai"),
    "openai": ("openai", "openai"),
    "vertex": ("google", "vertexai"),
    "vertexai": ("google", "vertexai"),
    "xai": ("xai", None),
    # gen_ai.provider.name values (when LangChain names no ls_provider)
    "azure.ai.openai": ("azure", "openai"),
    "azure.ai.inference": ("azure", None),
    "aws.bedrock": ("aws", None),
    "gcp.vertex_ai": ("google", "vertexai"),
    "gcp.gen_ai": ("google", "vertexai"),
    "gcp.gemini": ("google", "vertexai"),
    "mistral_ai": ("mistralai", "mistralai"),
    "x_ai": ("xai", None),
}


def provider_and_system(ls_provider: str) -> tuple[str, str | None]:
    """(``llm.provider``, ``llm.system`` or None) for LangChain's ``ls_provider`` value."""
    key = ls_provider.lower()
    return _PROVIDER_SYSTEM.get(key, (key, None))

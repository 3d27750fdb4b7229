"""OTel GenAI semantic conventions: messages, system instructions and tool definitions as JSON.

Builds the values of ``gen_ai.input.messages``, ``gen_ai.output.messages``,
``gen_ai.system_instructions`` and ``gen_ai.tool.definitions`` in the spec's JSON schemas
(a message is ``{"role", "parts": [...], "name"?, "finish_reason"?}``; a part is ``text``,
``tool_call``, ``tool_call_response``, ``uri`` or ``blob``), from LangChain-shaped messages,
generations and tool lists. Recorded on spans as JSON strings (the SDK has no structured
attribute values).
"""

from __future__ import annotations

import json
from typing import Any

from otelchain._json import Base64Image, image_marker, image_mime, is_mapping
from otelchain.tracing._conventions.openinference_values import REDACTED, MessageView, image_url

__all__ = ["agent_messages", "input_messages", "output_message", "parse_arguments", "tool_definitions"]


def parse_arguments(args: Any) -> Any:
    """Tool-call arguments as an object: a JSON string is decoded (best effort, as the spec asks)."""
    if isinstance(args, str):
        try:
            return json.loads(args)
        except ValueError:
            return args
    return args


def _parts(message: MessageView) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    content = message.content
    if message.role == "tool" and message.tool_call_id:
        result = content if not isinstance(content, list) else [_part(p) for p in content]
        return [{"type": "tool_call_response", "id": message.tool_call_id, "result": result}]
    if isinstance(content, str):
        if content:
            parts.append({"type": "text", "content": content})
    elif isinstance(content, list):
        parts.extend(p for p in (_part(item) for item in content) if p)
    for tool_id, name, args in message.tool_calls:
        call: dict[str, Any] = {"type": "tool_call", "name": name or ""}
        if tool_id:
            call["id"] = tool_id
        if args is not None:
            call["arguments"] = parse_arguments(args)
        parts.append(call)
    return parts


def _part(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        return {"type": "text", "content": item}
    if not is_mapping(item):
        return {}
    kind = item.get("type")
    if kind == "text":
        return {"type": "text", "content": item.get("text", "")}
    if kind in ("image_url", "image"):
        url = image_url(item)
        if url and image_mime(url) is not None:  # a base64 data URL (its scheme in any case)
            head, data = url.split(",", 1)
            return {
                "type": "blob",
                "modality": "image",
                "mime_type": head[5:].split(";", 1)[0].lower(),
                "content": data,
            }
        return {"type": "uri", "modality": "image", "uri": url or ""}
    if kind in ("reasoning", "thinking"):
        text = item.get("reasoning") or item.get("thinking") or item.get("text") or ""
        return {"type": "reasoning", "content": text}
    return {"type": str(kind or "unknown"), **{k: v for k, v in item.items() if k != "type"}}


def _message(message: MessageView) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role or "user", "parts": _parts(message)}
    if message.name:
        out["name"] = message.name
    return out


def _masked(
    parts: list[dict[str, Any]], hide_text: bool, hide_images: bool, image_max: int | None = None
) -> list[dict[str, Any]]:
    """Parts with text redacted and/or images dropped (OpenInference's masking variables), and
    inline images longer than ``image_max`` characters replaced by a marker; those within it
    become `Base64Image` leaves, which the encoder keeps whole when given the image limit."""
    if not (hide_text or hide_images or image_max is not None):
        return parts
    out = []
    for part in parts:
        if hide_images and part.get("modality") == "image":
            continue
        content = part.get("content")
        if image_max is not None and part.get("type") == "blob" and isinstance(content, str):
            image = Base64Image(content, part.get("mime_type") or "data")
            # within the limit: kept whole by the encoder, whatever the text bound; else the marker
            part = {**part, "content": image if len(image) <= image_max else image_marker(image)}
        if hide_text and part.get("type") in ("text", "reasoning"):
            part = {**part, "content": REDACTED}
        out.append(part)
    return out


def input_messages(
    messages: list[MessageView],
    *,
    hide_text: bool = False,
    hide_images: bool = False,
    image_max: int | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system instructions, chat history): the leading system messages become
    ``gen_ai.system_instructions`` parts; the rest are ``gen_ai.input.messages``."""
    system: list[dict[str, Any]] = []
    index = 0
    while index < len(messages) and messages[index].role == "system":
        system.extend(_parts(messages[index]))
        index += 1
    history = [_message(m) for m in messages[index:]]
    for message in history:
        message["parts"] = _masked(message["parts"], hide_text, hide_images, image_max)
    return _masked(system, hide_text, hide_images, image_max), history


def output_message(
    message: MessageView, finish_reason: str | None, *, hide_text: bool = False
) -> dict[str, Any]:
    """One generation as an output message (finish_reason is required by the schema)."""
    out = _message(message)
    out["parts"] = _masked(out["parts"], hide_text, False)
    out["finish_reason"] = finish_reason or ""
    return out


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """The tools a model was offered (OpenAI / LangChain shapes) as ``gen_ai.tool.definitions``:
    type, name, description and parameters (the JSON schema of its arguments)."""
    out: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, (list, tuple)) else ():
        if not is_mapping(tool):
            continue
        function = tool.get("function")
        spec = function if is_mapping(function) else tool
        name = spec.get("name")
        if not name:
            continue
        entry: dict[str, Any] = {"type": str(tool.get("type") or "function"), "name": str(name)}
        description = spec.get("description")
        if isinstance(description, str) and description:
            entry["description"] = description
        parameters = spec.get("parameters")
        if is_mapping(parameters):
            entry["parameters"] = parameters
        out.append(entry)
    return out


def agent_messages(value: Any, *, output: bool) -> list[MessageView]:
    """An agent run's input or output as messages: a LangGraph agent's state ``messages`` (its
    output: the last assistant message), or an agent executor's ``input`` / ``output`` text."""
    if not is_mapping(value):
        return []
    messages = value.get("messages")
    if isinstance(messages, (list, tuple)) and messages:
        views = [MessageView(m) for m in messages]
        if output:
            answers = [v for v in views if v.role == "assistant"]
            return answers[-1:]
        return views
    text = value.get("output" if output else "input")
    if isinstance(text, str):
        return [MessageView(("assistant" if output else "user", text))]
    return []

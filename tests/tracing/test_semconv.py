"""Every attribute name otelchain emits is a real name of the convention it claims.

OpenInference keys are checked against ``openinference-semantic-conventions`` (installed with the
test extra); GenAI keys against the names of the semantic-conventions-genai registry, vendored in
``data/genai_semconv.json`` (its ``_source`` says which commit). The span reference (docs/spans.md) is
compared with the constants module, so the two cannot drift.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openinference.semconv import trace as oi

from otelchain.tracing import _names as A
from tests._servers.openai_server import OpenAIServer
from tests.helpers import Traced
from tests.helpers.scenarios import run_all

ROOT = Path(__file__).resolve().parents[2]
GENAI = json.loads((Path(__file__).parent / "data" / "genai_semconv.json").read_text())

# Every name OpenInference defines (span attributes, and the fragments of flattened keys).
OI_NAMES = {
    value
    for cls in (
        oi.SpanAttributes,
        oi.MessageAttributes,
        oi.MessageContentAttributes,
        oi.ImageAttributes,
        oi.ToolCallAttributes,
        oi.ToolAttributes,
        oi.DocumentAttributes,
    )
    for name, value in vars(cls).items()
    if name.isupper() and isinstance(value, str)
}
OWN_PREFIXES = ("otelchain.", "agent.", "token.")
OTEL_GENERAL = {"server.address", "server.port", "error.type", "session.id", "user.id"}


def _is_oi_key(key: str) -> bool:
    """A flattened OpenInference key (``llm.input_messages.0.message.role``): each part between
    the list indexes is an OpenInference name."""
    parts = [p.strip(".") for p in re.split(r"\.\d+\.", key)]
    return all(_names(part) for part in parts)


def _names(text: str) -> bool:
    """Whether ``text`` is OpenInference names joined by dots (``message_content.image.image.url``)."""
    if text in OI_NAMES:
        return True
    pieces = text.split(".")
    return any(
        ".".join(pieces[:i]) in OI_NAMES and _names(".".join(pieces[i:])) for i in range(1, len(pieces))
    )


@pytest.fixture
def all_spans(traced: Traced, openai_server: OpenAIServer) -> Traced:
    run_all(openai_server, traced.handler)
    return traced


def test_every_emitted_key_belongs_to_its_convention(all_spans: Traced) -> None:
    keys = {k for span in all_spans.spans for k in (span.attributes or {})}
    unknown = []
    for key in sorted(keys):
        if key.startswith("gen_ai.") or key.startswith("openai."):
            ok = key in GENAI["attributes"] or key in GENAI["referenced_attributes"]
        elif key.startswith(OWN_PREFIXES) or key in OTEL_GENERAL:
            ok = True
        else:
            ok = _is_oi_key(key)
        if not ok:
            unknown.append(key)
    assert unknown == []
    # the run types cover the new attributes (a check that cannot pass on an empty trace)
    for expected in (
        "llm.finish_reason",
        "llm.provider",
        "llm.system",
        "llm.invocation_parameters",
        "llm.tools.0.tool.json_schema",
        "llm.prompts",
        "llm.prompt_template.template",
        "llm.prompt_template.variables",
        "llm.input_messages.1.message.name",
        "llm.input_messages.1.message.contents.1.message_content.image.image.url",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
        "llm.token_count.prompt",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.type",
        "gen_ai.request.stream",
        "gen_ai.conversation.id",
        "session.id",
    ):
        assert expected in keys, expected


def _constants() -> dict[str, str]:
    return {name: value for name, value in vars(A).items() if name.isupper() and isinstance(value, str)}


def test_openinference_constants_exist_in_openinference_semconv() -> None:
    oi_constants = {
        name: value
        for name, value in _constants().items()
        if name.startswith(("LLM_", "MESSAGE_", "TOOL_CALL_", "INPUT_", "OUTPUT_", "DOCUMENT_", "OI_"))
        or name
        in (
            "OPENINFERENCE_SPAN_KIND",
            "RETRIEVAL_DOCUMENTS",
            "TOOL_NAME",
            "TOOL_DESCRIPTION",
            "TOOL_JSON_SCHEMA",
        )
    }
    assert len(oi_constants) > 40
    for name, value in oi_constants.items():
        assert value in OI_NAMES, f"{name} = {value!r} is not an OpenInference name"
    kinds = {v.value for v in oi.OpenInferenceSpanKindValues}
    for name, value in _constants().items():
        if name.startswith("KIND_"):
            assert value in kinds, name
    assert oi.OpenInferenceMimeTypeValues.JSON.value == A.MIME_JSON
    assert oi.OpenInferenceMimeTypeValues.TEXT.value == A.MIME_TEXT


def test_genai_constants_are_current_registry_names() -> None:
    names = set(GENAI["attributes"]) | set(GENAI["referenced_attributes"])
    for name, value in _constants().items():
        if name.startswith(("GEN_AI_", "OPENAI_")):
            assert value in names, f"{name} = {value!r} is not in the GenAI registry"
        if name.startswith("METRIC_"):
            assert value in GENAI["metrics"], name
        if name.startswith("OP_"):
            assert value in GENAI["operation_names"], name
        if name.startswith("TOKEN_TYPE_"):
            assert value in GENAI["token_types"], name


def _span_reference() -> str:
    text = (ROOT / "docs" / "spans.md").read_text()
    start = text.index("## Span reference")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


_NAMESPACES = (
    "gen_ai.", "llm.", "input.", "output.", "message.", "tool.", "tool_call.", "retrieval.",
    "document.", "otelchain.", "agent.", "token.", "session.", "user.", "server.", "error.",
    "openai.", "exception.", "tag.", "openinference.span.", "langgraph.",
)  # fmt: skip


def _joined(text: str, names: set[str]) -> bool:
    """Whether ``text`` is names of ``names`` joined by dots."""
    if text in names:
        return True
    pieces = text.split(".")
    return any(
        ".".join(pieces[:i]) in names and _joined(".".join(pieces[i:]), names) for i in range(1, len(pieces))
    )


def test_span_reference_matches_the_constants_module() -> None:
    section = _span_reference()
    documented = {
        n for n in re.findall(r"`([a-z_]+(?:\.[A-Za-z_{}0-9]+)+)`", section) if n.startswith(_NAMESPACES)
    }
    documented = {n.replace(".{i}.", ".0.") for n in documented} | {"metadata"}
    constants = _constants()
    attribute_constants = {
        value for name, value in constants.items() if "." in value and "/" not in value
    } | {A.OI_METADATA}
    # every attribute name of the constants module is documented (whole, or as a part of a key) ...
    missing = sorted(v for v in attribute_constants if not any(v == d or v in d for d in documented))
    assert missing == [], f"not in the span reference (docs/spans.md): {missing}"
    # ... and every documented name is built from the constants (N, M: list indexes)
    names = attribute_constants | {A.agent_action_attr(0, f) for f in ("tool", "tool_input", "log")}
    invented = sorted(
        d
        for d in documented
        if not all(_joined(part, names) for part in re.split(r"\.(?:N|M)\.", d) if part) and d not in names
    )
    assert invented == [], f"docs/spans.md names with no constant: {invented}"

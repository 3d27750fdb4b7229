"""What the console views show, as rich renderables: verbose lines, values, messages, model
summaries, read from runs or from spans (whichever vocabulary they carry)."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import ReadableSpan

from otelchain._json import scrub
from otelchain.tracing import _names as A
from otelchain.tracing._console.printer import clean, fits

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

__all__: list[str] = []  # the console package's own: see the names its modules import

logger = logging.getLogger("otelchain.tracing")


# A verbose line by kind: (style of its tag, message); a run's title fills the message.
_LINES = {
    "start": ("bold green", "Entering {} run with input:"),
    "end": ("bold blue", "Exiting {} run with output:"),
    "error": ("bold red", "{} run errored with error:"),
    "interrupt": ("bold yellow", "{} run paused by LangGraph control flow:"),
    "action": ("bold magenta", "Agent selected action:"),
    "finish": ("bold magenta", "Agent finished with:"),
}
_TITLES = {"llm": "LLM", "chain": "Chain", "tool": "Tool", "retriever": "Retriever", "agent": "Agent"}
_ROLE_STYLES = {"system": "magenta", "user": "green", "assistant": "cyan", "tool": "yellow"}
_KEY, _STR, _NUM, _LIT, _PUNCT = "bold blue", "green", "cyan", "italic magenta", "bold"
MARK_STYLE = "dim italic"


# --- values --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How much of a value is shown: characters per string, lines per block, items per list."""

    chars: int = 20_000
    lines: int | None = None
    items: int = 100
    inline: int = 0  # a dict or list of one-line scalars fitting this many characters on one line


VERBOSE_LIMITS = Limits()
TREE_LIMITS = Limits(chars=400, lines=6, items=20, inline=100)


def number_text(value: int) -> str:
    return f"{value:,}"


def count_text(value: int, noun: str) -> str:
    """``1 span``, ``2,000 spans``."""
    return f"{number_text(value)} {noun}{'' if value == 1 else 's'}"


def elapsed(ns: int | float) -> str:
    """``0.4ms``, ``12ms``, ``1.25s``, ``2m05s``: one format for every view."""
    seconds = max(ns, 0) / 1e9
    if seconds < 0.01:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def text_block(text: str, limits: Limits, style: str = "") -> Text:
    """Text with its real newlines, cut to the limits with a visible marker: the first and last
    lines when there are too many, the first characters when there are too many."""
    from rich.text import Text

    lines = clean(text).split("\n")
    hidden_lines = 0
    head = len(lines)
    if limits.lines is not None and len(lines) > limits.lines + 1:
        head = (limits.lines + 1) // 2
        tail = limits.lines - head
        hidden_lines = len(lines) - head - tail
        lines = [*lines[:head], *(lines[-tail:] if tail else [])]
    out = Text(style=style)
    left = limits.chars
    for i, line in enumerate(lines):
        if i:
            out.append("\n")
        if hidden_lines and i == head:
            out.append(f"… {number_text(hidden_lines)} more lines …\n", MARK_STYLE)  # always 2 or more
        if len(line) > left:
            out.append(line[:left])
            rest = len(line) - left + sum(len(x) + 1 for x in lines[i + 1 :])
            out.append(f" … {number_text(rest)} more characters", MARK_STYLE)
            break
        out.append(line)
        left -= len(line) + 1
    else:
        if hidden_lines and head == len(lines):
            out.append(f"\n… {number_text(hidden_lines)} more lines", MARK_STYLE)
    return out


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (dict, list, str)) and not value)


def _multiline(text: str) -> bool:
    return sum(1 for line in text.split("\n") if line.strip()) >= 2


def _inline_fits(values: Sequence[Any], width: int) -> bool:
    """Whether these are one-line scalars short enough to print on one line."""
    total = 0
    for v in values:
        if isinstance(v, str):
            if "\n" in v.strip():
                return False
            total += len(v) + 4
        elif v is None or isinstance(v, (int, float, bool)):
            total += len(str(v)) + 2
        else:
            return False
    return total <= width


def json_text(value: Any, limits: Limits = VERBOSE_LIMITS) -> Text:
    """Plain JSON data, indented and highlighted; empty fields dropped; a multi-line string as a
    ``\"\"\"`` block with its real newlines; long strings and lists cut with a marker."""
    from rich.text import Text

    out = Text()
    _json_into(out, value, 0, limits)
    return out


def _json_into(out: Text, value: Any, depth: int, limits: Limits) -> None:
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if not _empty(v)]
        inline = bool(limits.inline) and _inline_fits([x for item in items for x in item], limits.inline)
        _container_into(out, "{}", items, len(items) if inline else limits.items, inline, depth, limits)
    elif isinstance(value, (list, tuple)):
        inline = _inline_fits(list(value[: limits.items]), max(limits.inline, 60))
        _container_into(out, "[]", list(enumerate(value)), limits.items, inline, depth, limits)
    elif isinstance(value, str):
        if _multiline(value):
            block = text_block(value, limits, _STR)
            pad = "  " * (depth + 1)
            out.append('"""', _STR)
            for line in block.split("\n"):
                out.append("\n" + pad)
                out.append_text(line)
            out.append('"""', _STR)
        else:
            cut = value if len(value) <= limits.chars else value[: limits.chars]
            out.append(json.dumps(clean(cut), ensure_ascii=False), _STR)
            if len(value) > len(cut):
                out.append(f" … {number_text(len(value) - len(cut))} more characters", MARK_STYLE)
    elif isinstance(value, bool) or value is None:
        out.append(json.dumps(value), _LIT)
    elif isinstance(value, (int, float)):
        out.append(json.dumps(value), _NUM)
    else:
        out.append(clean(repr(value)))


def _container_into(
    out: Text,
    brackets: str,
    items: list[tuple[Any, Any]],
    most: int,
    inline: bool,
    depth: int,
    limits: Limits,
) -> None:
    """A JSON object (``brackets`` ``{}``, keys shown) or array (``[]``) on one line or one item a
    line, its first ``most`` items shown and the rest counted."""
    if not items:
        out.append(brackets, _PUNCT)
        return
    keyed = brackets == "{}"
    shown = items[:most]
    hidden = len(items) - len(shown)
    pad = "  " * (depth + 1)
    out.append(brackets[0], _PUNCT)
    for i, (key, item) in enumerate(shown):
        if not inline:
            out.append("\n" + pad)
        elif i:
            out.append(", ")
        if keyed:
            out.append(json.dumps(clean(str(key)), ensure_ascii=False), _KEY)
            out.append(": ")
        _json_into(out, item, depth + 1, limits)
        if not inline and (i < len(shown) - 1 or hidden):
            out.append(",")
    if hidden:
        what = "keys" if keyed else "items"
        out.append(
            f", … {number_text(hidden)} more" if inline else f"\n{pad}… {number_text(hidden)} more {what}",
            MARK_STYLE,
        )
    out.append(brackets[1] if inline else "\n" + "  " * depth + brackets[1], _PUNCT)


def value_renderable(value: Any, limits: Limits = VERBOSE_LIMITS) -> RenderableType:
    """A run's input or output: a string as itself (quoted when on one line), data as JSON, and
    a conversation (``{"messages": [...]}``, as LangGraph agents carry) by role."""
    if isinstance(value, str) and _multiline(value):
        return text_block(value, limits)
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        messages = _as_messages(value["messages"])
        if messages is not None:
            rest = {k: v for k, v in value.items() if k != "messages" and not _empty(v)}
            shown = messages_renderable(messages, limits)
            return (group(shown, json_text(rest, limits)) or shown) if rest else shown
    return json_text(value, limits)


_ROLE_OF_TYPE = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "system": "system"}


def _as_messages(items: list[Any]) -> list[Message] | None:
    """Serialized messages (``{"type": "ai", "content": ...}`` or ``["user", "hi"]``) by role, or
    None when these are not all messages."""
    out: list[Message] = []
    for item in items:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
            out.append((item[0], item[1], []))
        elif (
            isinstance(item, dict)
            and "content" in item
            and isinstance(item.get("type", item.get("role")), str)
        ):
            kind = str(item.get("role") or item.get("type"))
            calls = [
                (str(call.get("name")), call.get("args"))
                for call in item.get("tool_calls") or []
                if isinstance(call, dict)
            ]
            out.append((_ROLE_OF_TYPE.get(kind, kind), item["content"], calls))
        else:
            return None
    return out


def parsed(value: Any, mime: Any) -> Any:
    """An attribute value as the data it encodes: JSON parsed back when its mime type says so,
    or when a text is a JSON object or array (a tool answering with JSON)."""
    if isinstance(value, str) and (mime == A.MIME_JSON or value.lstrip()[:1] in ("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value  # truncated JSON: show as text
    return value


# A message: (role, content, tool calls as (name, arguments)).
Message = tuple[str, Any, list[tuple[str, Any]]]


def messages_renderable(messages: Sequence[Message], limits: Limits) -> RenderableType:
    """Messages by role: the role on the left, the content with its real newlines beside it."""
    from rich.text import Text

    rows: list[tuple[Text, RenderableType]] = []
    for role, content, calls in messages:
        role_text = Text(clean(str(role)), style=f"bold {_ROLE_STYLES.get(str(role), 'white')}")
        body = Text()
        if isinstance(content, str):
            if content:
                body.append_text(text_block(content, limits))
        elif not _empty(content):
            body.append_text(json_text(content, limits))
        for name, arguments in calls:
            if body:
                body.append("\n")
            body.append("→ ", MARK_STYLE)
            body.append(clean(str(name)), "bold")
            body.append(" ")
            body.append_text(json_text(arguments, limits))
        rows.append((role_text, body))
    return Rows(rows)


def labelled(rows: Iterable[tuple[str, RenderableType]], style: str = "dim") -> RenderableType:
    """``label  value`` rows, values aligned and wrapped beside their labels."""
    from rich.text import Text

    return Rows([(Text(label, style=style), value) for label, value in rows])


class Rows:
    """``label value`` rows: each value wrapped to the width left beside the widest label.

    Cheaper than a rich table (no measuring pass), and text whose lines already fit is not
    re-wrapped: the console's hot path in verbose mode.
    """

    def __init__(self, rows: Sequence[tuple[Text, RenderableType]]) -> None:
        self.rows = [(label, value) for label, value in rows if not _blank(value)]

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Any]:
        from rich.cells import cell_len
        from rich.segment import Segment

        if not self.rows:
            return
        label_width = max(cell_len(label.plain) for label, _ in self.rows) + 1
        width = max(options.max_width - label_width, 8)
        pad = Segment(" " * label_width)
        for label, value in self.rows:
            lines = _render_lines(console, options, value, width)
            for i, line in enumerate(lines or [[]]):
                if i == 0:
                    yield from label.render(console)
                    yield Segment(" " * (label_width - cell_len(label.plain)))
                else:
                    yield pad
                yield from line
                yield Segment.line()


def _blank(value: Any) -> bool:
    from rich.text import Text

    return isinstance(value, Text) and not value.plain


def _render_lines(console: Console, options: Any, value: RenderableType, width: int) -> list[list[Any]]:
    from rich.text import Text

    if isinstance(value, Text) and fits(value, width):
        return [list(line.render(console)) for line in value.split("\n", allow_blank=True)]
    return console.render_lines(value, options.update(width=width, height=None), pad=False)


def llm_summary(
    model: Any = None,
    tokens_in: Any = None,
    tokens_out: Any = None,
    finish: Any = None,
    streamed: Any = None,
    first_token_s: Any = None,
) -> Text:
    """``tokens 124 in / 23 out · streamed 23 · first token 12ms · model gpt-4o · finish stop``."""
    from rich.text import Text

    parts: list[Text] = []
    if isinstance(tokens_in, int) or isinstance(tokens_out, int):
        shown_in = number_text(tokens_in) if isinstance(tokens_in, int) else "?"
        shown_out = number_text(tokens_out) if isinstance(tokens_out, int) else "?"
        parts.append(Text.assemble("tokens ", (shown_in, "bold"), " in / ", (shown_out, "bold"), " out"))
    if isinstance(streamed, int) and streamed:
        parts.append(Text.assemble("streamed ", (number_text(streamed), "bold")))
    if isinstance(first_token_s, (int, float)) and not isinstance(first_token_s, bool):
        parts.append(Text.assemble("first token ", (elapsed(first_token_s * 1e9), "bold")))
    if model:
        parts.append(Text.assemble("model ", (clean(str(model)), "bold")))
    if finish:
        shown = ", ".join(map(str, finish)) if isinstance(finish, (list, tuple)) else str(finish)
        parts.append(Text(f"finish {clean(shown)}"))
    return dotted(parts)


def dotted(parts: Iterable[Text]) -> Text:
    """``a · b · c`` with dim dots (each part keeps its own style)."""
    from rich.text import Text

    return Text.assemble((" · ", "dim")).join(parts)


def shown_type(run_type: Any) -> str:
    """LangChain prints an agent executor's run as a chain run (``[chain/start] [1:chain:...]``)."""
    return "chain" if run_type == "agent" else str(run_type)


def crumb(order: int, run_type: Any, name: Any) -> str:
    """``3:llm:gpt-4o``: how both views name a run (execution order, type, name)."""
    return f"{order}:{shown_type(run_type)}:{name}"


def verbose_renderables(
    kind: str, run_type: Any, crumbs: str, took_ns: int | None, body: RenderableType | None
) -> list[RenderableType]:
    """``[llm/end] [1:chain:llm_chain > 2:llm:fake] [12ms] Exiting LLM run with output:`` + body;
    ``kind`` is start, end, error, interrupt (LangGraph control flow), or an agent's action or finish."""
    from rich.text import Text

    style, message = _LINES[kind]
    shown = shown_type(run_type)
    tag = f"agent/{kind}" if kind in ("action", "finish") else f"{shown}/{kind}"
    head = Text.assemble((f"[{tag}]", style), " ", (f"[{clean(crumbs)}]", "bold"))
    if took_ns is not None:
        head.append(f" [{elapsed(took_ns)}]")
    head.append(" " + message.format(_TITLES.get(shown, shown.title())))
    return [head] if body is None else [head, body]


# --- verbose lines from spans -------------------------------------------------------------------


def _genai_messages(attrs: Mapping[str, Any], *, output: bool) -> list[Message]:
    """``gen_ai.input.messages`` (after ``gen_ai.system_instructions``) or
    ``gen_ai.output.messages`` back as (role, content, tool calls)."""
    out: list[Message] = []
    sources: list[tuple[str, str | None]] = [(A.GEN_AI_OUTPUT_MESSAGES, None)] if output else []
    if not output:
        sources = [(A.GEN_AI_SYSTEM_INSTRUCTIONS, "system"), (A.GEN_AI_INPUT_MESSAGES, None)]
    for key, role in sources:
        value = parsed(attrs.get(key), A.MIME_JSON)
        if not isinstance(value, list):
            continue
        items = [{"role": role, "parts": value}] if role else value
        for item in items:
            if not isinstance(item, Mapping):
                continue
            texts: list[str] = []
            calls: list[tuple[str, Any]] = []
            for part in item.get("parts") or ():
                if not isinstance(part, Mapping):
                    continue
                kind = part.get("type")
                if kind == "tool_call":
                    calls.append((str(part.get("name") or ""), part.get("arguments")))
                elif kind == "tool_call_response":
                    texts.append(str(part.get("result", "")))
                elif "content" in part:
                    texts.append(str(part.get("content", "")))
            out.append((str(item.get("role") or "?"), "".join(texts), calls))
    return out


def _attr_messages(attrs: Mapping[str, Any], prefix: str) -> list[Message]:
    """``llm.input_messages.N.message.*`` attributes back as (role, content, tool calls)."""
    messages: list[Message] = []
    for i in itertools.count():
        base = f"{prefix}.{i}."
        role = attrs.get(base + A.MESSAGE_ROLE)
        content = attrs.get(base + A.MESSAGE_CONTENT)
        if role is None and content is None:
            break
        calls: list[tuple[str, Any]] = []
        for j in itertools.count():
            call = f"{base}{A.MESSAGE_TOOL_CALLS}.{j}."
            name = attrs.get(call + A.TOOL_CALL_FUNCTION_NAME)
            if name is None:
                break
            calls.append((str(name), parsed(attrs.get(call + A.TOOL_CALL_FUNCTION_ARGUMENTS), A.MIME_JSON)))
        messages.append((str(role or "?"), content if content is not None else "", calls))
    return messages


def span_run_name(span: ReadableSpan) -> str:
    """The name both views give a run span: the model, the tool, the agent, the workflow, else
    the run name."""
    attrs = span.attributes or {}
    run_type = attrs_run_type(attrs)
    op = attrs.get(A.GEN_AI_OPERATION_NAME)
    if run_type == "llm":
        name = attrs.get(A.GEN_AI_REQUEST_MODEL)
    elif run_type == "tool":
        name = attrs.get(A.GEN_AI_TOOL_NAME)
    elif op == A.OP_INVOKE_AGENT:
        name = attrs.get(A.GEN_AI_AGENT_NAME)
    elif op == A.OP_INVOKE_WORKFLOW:
        name = attrs.get(A.GEN_AI_WORKFLOW_NAME)
    else:
        name = None
    return str(name or attrs.get(A.OTELCHAIN_RUN_NAME) or span.name)


def span_value(span: ReadableSpan, limits: Limits, *, output: bool) -> RenderableType | None:
    """A run span's input or output: a model's messages (or prompts) by role, else its value."""
    attrs = span.attributes or {}
    key, mime = (A.OUTPUT_VALUE, A.OUTPUT_MIME_TYPE) if output else (A.INPUT_VALUE, A.INPUT_MIME_TYPE)
    if attrs_run_type(attrs) == "llm":
        messages = _attr_messages(attrs, A.LLM_OUTPUT_MESSAGES if output else A.LLM_INPUT_MESSAGES)
        if not messages:
            messages = _genai_messages(attrs, output=output)
            if not output and attrs.get(A.GEN_AI_OPERATION_NAME) == A.OP_TEXT_COMPLETION:
                messages = [("prompt", content, calls) for _, content, calls in messages]
        if not (messages or output):  # a completion model's prompts (OpenInference), else its text
            prompts = attrs.get(A.LLM_PROMPTS)
            if isinstance(prompts, (list, tuple)) and prompts:
                messages = [("prompt", str(p), []) for p in prompts]
            elif attrs.get(mime) != A.MIME_JSON and isinstance(attrs.get(key), str):
                messages = [("prompt", attrs[key], [])]
        if messages:
            return messages_renderable(messages, limits)
    value = parsed(attrs.get(key), attrs.get(mime))
    if key not in attrs and attrs_run_type(attrs) == "tool":  # GenAI only: the call's arguments/result
        value = parsed(attrs.get(A.GEN_AI_TOOL_CALL_RESULT if output else A.GEN_AI_TOOL_CALL_ARGUMENTS), None)
    return None if _empty(value) else value_renderable(value, limits)


def span_error(span: ReadableSpan) -> str:
    """``ValueError: boom``, from the span's exception event (else its status)."""
    for event in span.events:
        if event.name == "exception" and event.attributes:
            etype = str(event.attributes.get("exception.type", "Exception")).rsplit(".", 1)[-1]
            message = str(event.attributes.get("exception.message", "") or "")
            return f"{etype}: {message}" if message else etype
    return str(span.status.description or "error")


def error_text(error: BaseException) -> str:
    """``ValueError: boom`` (a message whose ``__str__`` fails shows only the type), scrubbed of
    credentials a server may echo in it."""
    try:
        message = scrub(str(error))
    except Exception:
        message = ""
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def streamed_tokens(span: ReadableSpan) -> int:
    attrs = span.attributes or {}
    count = attrs.get(A.OTELCHAIN_STREAMED_TOKENS)
    if isinstance(count, int):
        return count
    total = 0
    for event in span.events:
        if event.name == A.EVENT_NEW_TOKEN:
            n = (event.attributes or {}).get(A.TOKEN_COUNT, 1)
            total += n if isinstance(n, int) else 1
    return total


def span_llm_summary(span: ReadableSpan, *, with_model: bool) -> Text:
    attrs = span.attributes or {}
    model = attrs.get(A.GEN_AI_RESPONSE_MODEL)
    if not with_model and model == attrs.get(A.GEN_AI_REQUEST_MODEL):
        model = None
    return llm_summary(
        model,
        attrs.get(A.GEN_AI_USAGE_INPUT_TOKENS),
        attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS),
        attrs.get(A.GEN_AI_RESPONSE_FINISH_REASONS) if with_model else None,
        streamed_tokens(span),
        attrs.get(A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK),
    )


def group(*parts: RenderableType | None) -> RenderableType | None:
    """The parts that show something, one below the other (None when none does)."""
    from rich.console import Group

    shown = [p for p in parts if p is not None and not _blank(p)]
    if not shown:
        return None
    return shown[0] if len(shown) == 1 else Group(*shown)


def error_renderable(message: str) -> Text:
    from rich.text import Text

    return Text(clean(message), style="red")


_TYPE_BY_OPERATION = {
    A.OP_CHAT: "llm",
    A.OP_TEXT_COMPLETION: "llm",
    A.OP_EXECUTE_TOOL: "tool",
    A.OP_INVOKE_AGENT: "agent",
}
_TYPE_BY_KIND = {A.KIND_LLM: "llm", A.KIND_TOOL: "tool", A.KIND_AGENT: "agent", A.KIND_CHAIN: "chain"}
_TYPE_BY_KIND |= {A.KIND_RETRIEVER: "retriever", A.KIND_PROMPT: "prompt"}


def attrs_run_type(attrs: Mapping[str, Any]) -> str | None:
    """The run type of a run span, from whichever vocabulary it carries (None: not a run span)."""
    value = attrs.get(A.OTELCHAIN_RUN_TYPE)
    if value == "chain" and attrs.get(A.GEN_AI_OPERATION_NAME) == A.OP_INVOKE_AGENT:
        return "agent"  # a LangGraph agent's graph run: an agent, as its span says
    if value is not None:
        return str(value)
    op = _TYPE_BY_OPERATION.get(str(attrs.get(A.GEN_AI_OPERATION_NAME)))
    if op is not None:
        return op
    kind = attrs.get(A.OPENINFERENCE_SPAN_KIND)
    if kind is not None:
        return _TYPE_BY_KIND.get(str(kind), "chain")
    return "chain" if A.OTELCHAIN_RUN_ID in attrs else None


def span_run_type(span: ReadableSpan) -> str | None:
    return attrs_run_type(span.attributes or {})

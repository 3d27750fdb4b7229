"""Console output a person reads: LangChain's verbose lines, and each trace as a tree.

`ConsoleSpanTreeExporter` prints a trace's tree when its local root span ends (never on a
timer, so a long run is never split), in time order, bounded for huge traces, with totals.
`ConsoleSpanProcessor` prints the verbose lines from spans as they start and end; the verbose
handler (``otelchain.callbacks.ConsoleCallbackHandler``) prints the same lines straight from its
runs. Both render with rich; colours follow ``NO_COLOR``, ``FORCE_COLOR``, ``TERM=dumb`` and
whether the stream is a terminal; text is fitted to the terminal's width.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from otelchain._json import scrub
from otelchain._secrets import scrub_known
from otelchain.tracing import _names as A
from otelchain.tracing._console.printing import Printing

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text
    from rich.tree import Tree

__all__ = ["ConsoleSpanProcessor", "ConsoleSpanTreeExporter"]

logger = logging.getLogger("otelchain.tracing")

_FALSY = frozenset({"0", "false", "no", "off"})
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
_MARK = "dim italic"
_SURROGATE = re.compile("[\ud800-\udfff]")
_TRAILING = re.compile(r"(?:[ ]|\x1b\[[0-9;]*m)+$", re.M)  # padding rich leaves at line ends
_CODE = re.compile(r"\x1b\[[0-9;]*m")
# Off a terminal (a pipe, a file, CI logs) lines are not wrapped, so grep sees each one whole;
# values stay bounded by their limits. A terminal that reports 0 columns gets rich's fallback.
NO_WRAP_WIDTH = 1_000_000
_FALLBACK_WIDTH = 80

# --- terminal conventions ----------------------------------------------------------------------


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # closed, or not a real file
        return False


def use_color(stream: IO[str], forced: bool | None = None) -> bool:
    """Whether to colour ``stream``: ``forced`` if given; else ``NO_COLOR`` (set, non-empty) turns
    colours off, ``FORCE_COLOR`` turns them on even when piped (``0``/``false`` off), ``TERM=dumb``
    off; otherwise only on a terminal (the order pytest and most CLI tools use)."""
    if forced is not None:
        return forced
    env = os.environ
    if env.get("NO_COLOR"):
        return False
    force = env.get("FORCE_COLOR")
    if force is not None and force.strip():
        return force.strip().lower() not in _FALSY
    if env.get("TERM", "").strip().lower() == "dumb":
        return False
    return _isatty(stream)


def console_width(stream: IO[str], width: int | None = None) -> int:
    """Columns to fit: ``width`` if given, else ``COLUMNS``, else the terminal's (80 when it
    reports none); off a terminal, `NO_WRAP_WIDTH` (lines are never wrapped)."""
    if width is not None:
        return max(int(width), 20)
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), 20)
    if not _isatty(stream):
        return NO_WRAP_WIDTH
    try:
        reported = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return _FALLBACK_WIDTH
    return max(reported, 20) if reported > 0 else _FALLBACK_WIDTH


def clean(text: str) -> str:
    """Lone surrogates (invalid UTF-16, unprintable) shown as ``\\udXXX`` escapes."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _Capture(io.StringIO):
    """Where rich renders; carries the real stream's encoding (ASCII guides on an ASCII stream)."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


_write_lock = threading.Lock()  # one lock for every console writer: lines never interleave


class Printer:
    """Renders rich renderables for one stream and writes each print in one piece.

    Never raises: an output failure (closed stream, encoding) is counted in :attr:`failures`
    and logged (the 1st, 10th, 100th... time), so nothing is dropped silently.
    """

    def __init__(self, stream: IO[str] | None = None, color: bool | None = None, width: int | None = None):
        self._stream = stream
        self.color = color
        self.width = width
        self.failures = 0
        self._consoles: dict[tuple[bool, int, str], Console] = {}
        self._lock = threading.Lock()

    @property
    def stream(self) -> IO[str]:
        """The stream given, else the current ``sys.stdout`` (looked up at each print)."""
        return self._stream if self._stream is not None else sys.stdout

    def _console(self, color: bool, width: int, encoding: str) -> Console:
        key = (color, width, encoding)
        console = self._consoles.get(key)
        if console is None:
            from rich.console import Console

            console = Console(
                file=_Capture(encoding),
                width=width,
                color_system="standard" if color else None,
                force_terminal=color,
                force_jupyter=False,
                force_interactive=False,
                no_color=False,
                markup=False,
                emoji=False,
                highlight=False,
                legacy_windows=False,
                tab_size=4,
            )
            if len(self._consoles) > 8:  # terminal resizes: keep a few
                self._consoles.clear()
            self._consoles[key] = console
        return console

    def render(self, *renderables: RenderableType) -> str:
        """The text (with ANSI codes when colour is on) these renderables print as."""
        stream = self.stream
        on = use_color(stream, self.color)
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower()
        with self._lock:
            console = self._console(on, console_width(stream, self.width), encoding)
            text = "".join(_ansi(console, renderable, on) for renderable in renderables)
        return _encodable(_TRAILING.sub(_keep_codes, clean(scrub_known(text))), encoding)

    def print(self, *renderables: RenderableType) -> None:
        try:
            text = self.render(*renderables)
            stream = self.stream
            with _write_lock:
                stream.write(text)
                stream.flush()
        except Exception as error:
            self.failures += 1
            if str(self.failures).strip("0") == "1":  # 1, 10, 100, ...
                logger.warning(
                    "otelchain console: output failed (%d so far): %s: %s",
                    self.failures,
                    type(error).__name__,
                    clean(str(error))[:200],
                )


def _ansi(console: Console, renderable: RenderableType, color: bool) -> str:
    """One renderable as text ending in a newline, with ANSI codes when colour is on.

    Renders the segments and joins them (what ``Console.print`` does, minus its buffering and
    hooks); a text whose lines already fit is not wrapped at all: the verbose hot path."""
    from rich.color import ColorSystem
    from rich.segment import Segment
    from rich.text import Text

    options = console.options
    if isinstance(renderable, Text):
        if fits(renderable, options.max_width):
            segments: Iterable[Segment] = [*renderable.render(console), Segment.line()]
        else:
            segments = [*console.render(renderable, options)]
    else:
        segments = console.render(renderable, options)
    if not color:
        return "".join(segment.text for segment in segments if not segment.control)
    system = ColorSystem.STANDARD
    return "".join(
        segment.style.render(segment.text, color_system=system) if segment.style else segment.text
        for segment in segments
        if not segment.control
    )


def _keep_codes(match: re.Match[str]) -> str:
    """Trailing padding dropped, the colour codes in it kept."""
    return "".join(_CODE.findall(match.group()))


def _encodable(text: str, encoding: str) -> str:
    """What the stream can encode; anything else as backslash escapes (never a lost line)."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text


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


def _n(value: int) -> str:
    return f"{value:,}"


def _count(value: int, noun: str) -> str:
    """``1 span``, ``2,000 spans``."""
    return f"{_n(value)} {noun}{'' if value == 1 else 's'}"


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
            out.append(f"… {_n(hidden_lines)} more lines …\n", _MARK)  # always 2 or more
        if len(line) > left:
            out.append(line[:left])
            rest = len(line) - left + sum(len(x) + 1 for x in lines[i + 1 :])
            out.append(f" … {_n(rest)} more characters", _MARK)
            break
        out.append(line)
        left -= len(line) + 1
    else:
        if hidden_lines and head == len(lines):
            out.append(f"\n… {_n(hidden_lines)} more lines", _MARK)
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
                out.append(f" … {_n(len(value) - len(cut))} more characters", _MARK)
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
        out.append(f", … {_n(hidden)} more" if inline else f"\n{pad}… {_n(hidden)} more {what}", _MARK)
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
            body.append("→ ", _MARK)
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


def fits(text: Text, width: int) -> bool:
    """Whether every line of this (ASCII, tab-free) text fits in ``width`` as it is."""
    plain = text.plain
    return plain.isascii() and "\t" not in plain and all(len(line) <= width for line in plain.split("\n"))


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
        shown_in = _n(tokens_in) if isinstance(tokens_in, int) else "?"
        shown_out = _n(tokens_out) if isinstance(tokens_out, int) else "?"
        parts.append(Text.assemble("tokens ", (shown_in, "bold"), " in / ", (shown_out, "bold"), " out"))
    if isinstance(streamed, int) and streamed:
        parts.append(Text.assemble("streamed ", (_n(streamed), "bold")))
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


def _span_value(span: ReadableSpan, limits: Limits, *, output: bool) -> RenderableType | None:
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


def _span_error(span: ReadableSpan) -> str:
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


def _streamed(span: ReadableSpan) -> int:
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


def _span_llm_summary(span: ReadableSpan, *, with_model: bool) -> Text:
    attrs = span.attributes or {}
    model = attrs.get(A.GEN_AI_RESPONSE_MODEL)
    if not with_model and model == attrs.get(A.GEN_AI_REQUEST_MODEL):
        model = None
    return llm_summary(
        model,
        attrs.get(A.GEN_AI_USAGE_INPUT_TOKENS),
        attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS),
        attrs.get(A.GEN_AI_RESPONSE_FINISH_REASONS) if with_model else None,
        _streamed(span),
        attrs.get(A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK),
    )


def group(*parts: RenderableType | None) -> RenderableType | None:
    """The parts that show something, one below the other (None when none does)."""
    from rich.console import Group

    shown = [p for p in parts if p is not None and not _blank(p)]
    if not shown:
        return None
    return shown[0] if len(shown) == 1 else Group(*shown)


class ConsoleSpanProcessor(Printing, SpanProcessor):
    """Prints ``[chain/start] [1:chain:llm_chain] Entering Chain run with input:`` lines as
    otelchain spans start and end, for any tracer provider it is added to.

    The breadcrumb (execution order, run type, run name) is rebuilt from the spans' parents,
    naming runs as the span tree does. ``color``: None follows the terminal conventions;
    ``width``: None fits the terminal.
    """

    def __init__(
        self, stream: IO[str] | None = None, *, color: bool | None = None, width: int | None = None
    ) -> None:
        self.printer = Printer(stream, color, width)
        self._live: dict[int, tuple[str, Iterator[int]]] = {}
        self._starts: list[ReadableSpan] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # otelchain sets a span's attributes right after starting it (only when it records), so
        # its start line is printed at the next span event, when they are there.
        self._flush_starts()
        scope = getattr(span, "instrumentation_scope", None)
        if span.context is not None and getattr(scope, "name", None) == "otelchain":
            self._starts.append(span)

    def _flush_starts(self) -> None:
        starts, self._starts = self._starts, []
        for span in starts:
            self._print_start(span)

    def _print_start(self, span: ReadableSpan) -> None:
        try:
            run_type = _run_type(span)
            if run_type is None or span.context is None:
                return
            parent = self._live.get(span.parent.span_id) if span.parent is not None else None
            if parent is None:
                counter: Iterator[int] = itertools.count(2)
                crumbs = crumb(1, run_type, span_run_name(span))
            else:
                counter = parent[1]
                crumbs = f"{parent[0]} > {crumb(next(counter), run_type, span_run_name(span))}"
            self._live[span.context.span_id] = (crumbs, counter)
            body = _span_value(span, VERBOSE_LIMITS, output=False)
            self.printer.print(*verbose_renderables("start", run_type, crumbs, None, body))
        except Exception:  # printing must never break a run
            return

    def on_end(self, span: ReadableSpan) -> None:
        self._flush_starts()
        try:
            entry = self._live.pop(span.context.span_id, None) if span.context is not None else None
            if entry is None:
                return
            run_type = _run_type(span)
            took = (span.end_time or 0) - (span.start_time or 0)
            body: RenderableType | None
            if span.status.status_code is StatusCode.ERROR:
                kind, body = "error", _error_renderable(_span_error(span))
            else:
                kind, body = "end", _span_value(span, VERBOSE_LIMITS, output=True)
                if run_type == "llm":
                    body = group(body, _span_llm_summary(span, with_model=True))
            self.printer.print(*verbose_renderables(kind, run_type, entry[0], took, body))
        except Exception:
            return

    def shutdown(self) -> None:
        self._flush_starts()
        self._live.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._flush_starts()
        return True


def _error_renderable(message: str) -> Text:
    from rich.text import Text

    return Text(clean(message), style="red")


# --- finished traces as trees ----------------------------------------------------------------


class _Counts(Counter[Any]):
    """What the totals add up (so two counts add like counters): ``spans``, ``errors``,
    ``streamed`` and tokens ``in``/``out``; ``("n", kind)`` spans taking ``("ns", kind)``; and
    ``("calls", model)`` with its tokens ``("in", model)`` and ``("out", model)``; model calls
    with a cost (``priced``, ``("priced", model)``) and their cost by currency (``("cost",
    currency)``, ``("cost", currency, model)``)."""

    def add(self, span: ReadableSpan) -> None:
        attrs = span.attributes or {}
        kind = _run_type(span) or "other"
        failed = span.status.status_code is StatusCode.ERROR
        took = (span.end_time or 0) - (span.start_time or 0)
        self.update({"spans": 1, "errors": int(failed), ("n", kind): 1, ("ns", kind): took})
        if kind != "llm":
            return
        tin, tout = attrs.get(A.GEN_AI_USAGE_INPUT_TOKENS), attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS)
        tin = tin if isinstance(tin, int) else 0
        tout = tout if isinstance(tout, int) else 0
        model = str(attrs.get(A.GEN_AI_RESPONSE_MODEL) or attrs.get(A.GEN_AI_REQUEST_MODEL) or "?")
        self.update({"streamed": _streamed(span), "in": tin, "out": tout})
        self.update({("calls", model): 1, ("in", model): tin, ("out", model): tout})
        amount = attrs.get(A.GEN_AI_USAGE_COST_AMOUNT)
        if isinstance(amount, (int, float)) and not isinstance(amount, bool):
            currency = str(attrs.get(A.GEN_AI_USAGE_COST_CURRENCY) or "USD")
            self.update({"priced": 1, ("priced", model): 1, ("cost", currency): amount})
            self.update({("cost", currency, model): amount})

    def each(self, what: str) -> list[str]:
        """The kinds (``what`` n) or models (``what`` calls) counted, in the order first seen."""
        return [key[1] for key in self if isinstance(key, tuple) and key[0] == what]


@dataclass
class _Trace:
    """A trace's spans held until its local root ends (up to a cap; the rest only counted)."""

    spans: dict[int, ReadableSpan] = field(default_factory=dict)
    unheld: _Counts = field(default_factory=_Counts)
    first_start: int = 0  # the earliest start among its spans so far (ns)
    last_note: int = 0  # trace time of the last progress line (ns)
    finished: int = 0  # spans ended so far (held or not)


@dataclass
class _Node:
    span: ReadableSpan
    children: list[_Node] = field(default_factory=list)
    label: str = ""

    def size(self) -> int:
        """Spans in this subtree (iterative: a trace may be deeper than Python's recursion)."""
        return len(_walk(self))


@dataclass
class _Budget:
    """Nodes left to print, and spans accounted for (printed or summarized)."""

    left: int
    accounted: int = 0
    max_depth: int = 48


_KIND_ORDER = {kind: i for i, kind in enumerate(("llm", "tool", "retriever", "chain", "agent", "other"))}


class _TreeLayout:
    """How a finished trace is drawn: its nodes in time order, collapsed runs, values and totals,
    within the exporter's bounds (see `ConsoleSpanTreeExporter`)."""

    def __init__(
        self,
        printer: Printer,
        max_spans: int,
        max_held_spans: int,
        collapse_after: int,
        limits: Limits,
        show_content: bool,
    ) -> None:
        self.printer = printer
        self.max_spans = max_spans
        self.max_held_spans = max_held_spans
        self.collapse_after = collapse_after
        self.limits = limits
        self.show_content = show_content

    @property
    def stream(self) -> IO[str]:
        return self.printer.stream

    def renderables(
        self, trace_id: int, spans: Sequence[ReadableSpan], unheld: _Counts, complete: bool
    ) -> list[RenderableType]:
        from rich.text import Text
        from rich.tree import Tree

        roots = self._build(spans)
        header = Text.assemble(("trace ", "bold"), (f"{trace_id:032x}", "bold"))
        if not complete:
            header.append("  (incomplete: its root span had not ended at shutdown)", "yellow")
        tree = Tree(header, guide_style="dim")
        # Deeper than the width allows, guides would leave no room for the spans' names.
        budget = _Budget(
            self.max_spans, max_depth=max((console_width(self.stream, self.printer.width) - 36) // 4, 2)
        )
        for node in roots:
            self._add(tree, node, budget, 0)
        rest = sum(node.size() for node in roots) - budget.accounted
        counts = _Counts()
        for span in spans:
            counts.add(span)
        if rest > 0:
            tree.add(Text(f"… {_n(rest)} more spans not shown (max_spans={self.max_spans})", _MARK))
        if unheld["spans"]:
            tree.add(
                Text(
                    f"… {_n(unheld['spans'])} more spans not held (max_held_spans={self.max_held_spans}); "
                    "counted in the totals",
                    _MARK,
                )
            )
        return [tree, self._totals(counts, unheld, roots)]

    def _build(self, spans: Sequence[ReadableSpan]) -> list[_Node]:
        nodes = {s.context.span_id: _Node(s) for s in spans if s.context is not None}
        roots: list[_Node] = []
        for node in nodes.values():
            parent = node.span.parent
            owner = nodes.get(parent.span_id) if parent is not None and not parent.is_remote else None
            (owner.children if owner is not None else roots).append(node)
        order = {id(n): i for i, n in enumerate(nodes.values())}

        def key(n: _Node) -> tuple[int, int, int]:
            return (n.span.start_time or 0, n.span.end_time or 0, order[id(n)])

        for node in nodes.values():
            node.children.sort(key=key)
        roots.sort(key=key)
        # Execution order, as the verbose log counts it: runs in start order within each run tree.
        for node in nodes.values():
            if _run_type(node.span) is None:
                node.label = clean(node.span.name)
                continue
            parent = node.span.parent
            owner = nodes.get(parent.span_id) if parent is not None else None
            if owner is not None and _run_type(owner.span) is not None:
                continue  # numbered from its run tree's root
            runs = _walk(node, runs_only=True)
            runs.sort(key=lambda n: n.span.start_time or 0)  # stable: parents first
            for i, run in enumerate(runs, 1):
                run.label = clean(f"{i}:{_label_type(run.span)}:{span_run_name(run.span)}")
        return roots

    def _add(self, tree: Tree, node: _Node, budget: _Budget, depth: int) -> None:
        from rich.text import Text

        if budget.left <= 0:
            return
        budget.left -= 1
        budget.accounted += 1
        branch = tree.add(self._node_renderable(node))
        if depth >= budget.max_depth and node.children:
            hidden = node.size() - 1
            branch.add(Text(f"… {_n(hidden)} deeper spans", _MARK))
            budget.accounted += hidden
            return
        for item in self._collapsed(self._with_actions(node)):
            if budget.left <= 0:
                return
            if isinstance(item, _Node):
                self._add(branch, item, budget, depth + 1)
            elif isinstance(item, list):
                branch.add(self._collapse_renderable(item))
                budget.left -= 1
                budget.accounted += sum(n.size() for n in item)
            else:
                branch.add(item)

    def _with_actions(self, node: _Node) -> list[Any]:
        """The node's children in time order, with its agent actions placed before the tool run
        each one chose (an action with no tool run: before the next step), and the finish last."""
        attrs = node.span.attributes or {}
        count = attrs.get(A.AGENT_ACTION_COUNT)
        pending = list(range(count)) if isinstance(count, int) and count > 0 else []
        out: list[Any] = []
        tools_left = sum(1 for c in node.children if _run_type(c.span) == "tool")
        last_was_step = False
        for child in node.children:
            run_type = _run_type(child.span)
            if pending and run_type == "tool":
                tool = (child.span.attributes or {}).get(A.GEN_AI_TOOL_NAME)
                names = [attrs.get(A.agent_action_attr(i, "tool")) for i in pending]
                upto = names.index(tool) + 1 if tool in names else 1
                out.extend(self._agent_step(attrs, i) for i in pending[:upto])
                pending = pending[upto:]
            elif pending and run_type is not None and last_was_step and len(pending) > tools_left:
                out.append(self._agent_step(attrs, pending.pop(0)))
            if run_type == "tool":
                tools_left -= 1
            last_was_step = run_type is not None and run_type != "tool"
            out.append(child)
        out.extend(self._agent_step(attrs, i) for i in pending)
        if A.AGENT_FINISH_OUTPUT in attrs:
            out.append(self._agent_step(attrs, None))
        return out

    def _collapsed(self, items: list[Any]) -> Iterator[Any]:
        """Items, with runs of similar successful sibling spans beyond ``collapse_after`` as one
        list (shown as a summary line); the first ``collapse_after`` and the last stay."""

        def similar(item: Any) -> Any:  # anything else is a run of its own
            return _signature(item) if isinstance(item, _Node) and _collapsible(item) else id(item)

        for _, group in itertools.groupby(items, similar):
            run = list(group)
            if len(run) <= self.collapse_after + 2:
                yield from run
            else:
                yield from run[: self.collapse_after]
                yield run[self.collapse_after : -1]
                yield run[-1]

    # node text -----------------------------------------------------------------------------
    def _node_renderable(self, node: _Node) -> RenderableType:
        from rich.text import Text

        span = node.span
        attrs = span.attributes or {}
        failed = span.status.status_code is StatusCode.ERROR
        run_type = _run_type(span)
        head = Text()
        head.append(node.label, "bold" if run_type is not None else "")
        head.append("  ")
        head.append(elapsed((span.end_time or 0) - (span.start_time or 0)), "yellow")
        head.append("  ")
        head.append_text(_status_text(span))
        if run_type == "llm":
            summary = _span_llm_summary(span, with_model=False)
            if summary:
                head.append("  ")
                head.append_text(summary)
        if run_type is None:  # an HTTP call under a run: its status code (never its URL: keys hide there)
            code = attrs.get("http.response.status_code", attrs.get("http.status_code"))
            if isinstance(code, int):
                head.append(f"  HTTP {code}", "red" if code >= 400 else "dim")
        retries = sum(1 for e in span.events if e.name == A.EVENT_RETRY)
        if retries:
            head.append(f"  {retries} retr{'y' if retries == 1 else 'ies'}", "yellow")
        rows: list[tuple[str, RenderableType]] = []
        if self.show_content:
            is_root_run = run_type is not None and node.label.startswith("1:")
            if run_type in ("llm", "tool", "retriever") or is_root_run:
                value = _span_value(span, self.limits, output=False)
                if value is not None:
                    rows.append(("input", value))
                if not failed:
                    value = _span_value(span, self.limits, output=True)
                    if value is not None:
                        rows.append(("output", value))
        if failed:
            rows.append(("error", _error_renderable(_span_error(span))))
        for event in span.events:
            if event.name == A.EVENT_LANGGRAPH_INTERRUPT:
                rows.append(("paused", self._pause(event.attributes or {})))
        dropped = attrs.get(A.OTELCHAIN_EVENTS_DROPPED)
        if isinstance(dropped, int) and dropped:
            rows.append(("note", Text(f"{_n(dropped)} events dropped (span event limit)", _MARK)))
        if not rows:
            return head
        return group(head, labelled(rows)) or head

    def _pause(self, attrs: Mapping[str, Any]) -> RenderableType:
        """Where LangGraph paused: ``interrupt_before  next: send`` at a static breakpoint, else
        ``interrupt <id>`` and (content) the interrupt's value."""
        from rich.text import Text

        stop = attrs.get(A.LANGGRAPH_INTERRUPT_BREAKPOINT)
        if stop is not None:
            head = Text(clean(str(stop)), "yellow")
            upcoming = attrs.get(A.LANGGRAPH_INTERRUPT_NEXT)
            if upcoming:
                head.append(f"  next: {clean(', '.join(map(str, upcoming)))}")
            return head
        head = Text("interrupt", "yellow")
        ident = attrs.get(A.LANGGRAPH_INTERRUPT_ID)
        if ident:
            head.append(f"  {clean(str(ident))[:12]}", "dim")
        return self._with_value(head, attrs.get(A.LANGGRAPH_INTERRUPT_VALUE), "value")

    def _agent_step(self, attrs: Mapping[str, Any], index: int | None) -> RenderableType:
        """``action 2  calculator  2^8`` (the agent's action ``index``), or its ``finish``."""
        from rich.text import Text

        if index is None:
            return self._with_value(Text("finish", style="bold magenta"), attrs.get(A.AGENT_FINISH_OUTPUT))
        head = Text.assemble((f"action {index + 1}", "bold magenta"), "  ")
        head.append(clean(str(attrs.get(A.agent_action_attr(index, "tool"), "?"))), "bold")
        return self._with_value(head, attrs.get(A.agent_action_attr(index, "tool_input")))

    def _with_value(self, head: Text, value: Any, label: str = "input") -> RenderableType:
        """``head  value`` on one line when the value is short, else the value below (``label``)."""
        from rich.text import Text

        if value is None or not self.show_content:
            return head
        shown = value_renderable(parsed(value, None), self.limits)
        if isinstance(shown, Text) and "\n" not in shown.plain and len(shown.plain) <= 80:
            head.append("  ")
            head.append_text(shown)
            return head
        return group(head, labelled([(label, shown)])) or head

    def _collapse_renderable(self, nodes: Sequence[_Node]) -> Text:
        from rich.text import Text

        counts = _Counts()
        for node in nodes:
            for below in _walk(node):
                counts.add(below.span)
        took = sum((n.span.end_time or 0) - (n.span.start_time or 0) for n in nodes)
        name = _signature(nodes[0])[1]
        text = Text(f"… {_n(len(nodes))} more {name} runs like these, all OK: {elapsed(took)} in all", _MARK)
        if counts["in"] or counts["out"]:
            text.append(f", tokens {_n(counts['in'])} in / {_n(counts['out'])} out", _MARK)
        if counts["streamed"]:
            text.append(f", streamed {_n(counts['streamed'])}", _MARK)
        hidden = counts["spans"] - len(nodes)
        if hidden > 0:
            text.append(f" ({_n(hidden)} child spans)", _MARK)
        return text

    def _totals(self, counts: _Counts, unheld: _Counts, roots: Sequence[_Node]) -> RenderableType:
        from rich.text import Text

        counts.update(unheld)
        start = min((n.span.start_time or 0 for n in roots), default=0)
        end = max((n.span.end_time or 0 for n in roots), default=0)
        first = [
            Text.assemble((elapsed(end - start), "bold yellow"), " wall"),
            Text(_count(counts["spans"], "span")),
            Text(_count(counts["errors"], "error"), style="bold red" if counts["errors"] else ""),
        ]
        if counts["in"] or counts["out"]:
            first.append(llm_summary(tokens_in=counts["in"], tokens_out=counts["out"]))
        if counts["streamed"]:
            first.append(llm_summary(streamed=counts["streamed"]))
        if counts["priced"]:
            first.append(_cost_text(counts, None))
        kinds = sorted(counts.each("n"), key=lambda kind: _KIND_ORDER.get(kind, 99))
        time = (
            Text.assemble(
                (kind, "bold"), f" {_n(counts['n', kind])}x ", (elapsed(counts["ns", kind]), "yellow")
            )
            for kind in kinds
        )
        summed = Text("summed per kind: ", _MARK)  # nested runs overlap: more than the wall time
        summed.append_text(dotted(time))
        rows: list[tuple[str, RenderableType]] = [("totals", dotted(first)), ("time", summed)]
        used = [model for model in counts.each("calls") if counts["in", model] or counts["out", model]]
        if used:
            used.sort(key=lambda model: -(counts["in", model] + counts["out", model]))
            models = (
                Text.assemble(
                    (clean(model), "bold"),
                    f" {_count(counts['calls', model], 'call')}, {_n(counts['in', model])} in"
                    f" / {_n(counts['out', model])} out",
                    *((", ", _cost_text(counts, model)) if counts["priced", model] else ()),
                )
                for model in used
            )
            rows.append(("models", dotted(models)))
        return labelled(rows, style="bold")


class ConsoleSpanTreeExporter(Printing, SpanExporter):
    """Prints each trace as a tree when its local root span ends, readable at a glance.

    One node per span in time order: ``3:llm:gpt-4o`` (named as in the verbose log), duration,
    status, tokens in/out, streamed tokens, time to first token; messages by role, tool input and
    output, agent actions as children in order; then the trace's totals. Output is bounded:
    runs of more than ``collapse_after`` similar successful siblings are collapsed,
    at most ``max_spans`` nodes per tree and ``max_held_spans`` spans held per trace, every value
    cut to ``max_value_lines`` lines, each with a visible marker. While a trace is open, a
    one-line progress note every ``progress_every`` seconds (None: never). ``color``: None follows the
    terminal conventions; ``width``: None fits the terminal. ``orphan_timeout`` is accepted for
    compatibility and ignored: a trace is never printed before its root ends (a trace whose root
    never ended is printed, marked incomplete, at shutdown).
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        color: bool | None = None,
        orphan_timeout: float | None = None,
        width: int | None = None,
        max_spans: int = 400,
        max_held_spans: int = 20_000,
        collapse_after: int = 3,
        max_value_lines: int = 6,
        show_content: bool = True,
        progress_every: float | None = 30.0,
    ) -> None:
        self.printer = Printer(stream, color, width)
        self.orphan_timeout = orphan_timeout
        self.max_spans = max_spans
        self.max_held_spans = max_held_spans
        limits = Limits(TREE_LIMITS.chars, max_value_lines, TREE_LIMITS.items, TREE_LIMITS.inline)
        self.layout = _TreeLayout(
            self.printer, max_spans, max_held_spans, max(collapse_after, 1), limits, show_content
        )
        self.progress_every = progress_every
        self._lock = threading.Lock()
        self._traces: dict[int, _Trace] = {}
        self._shutdown = False

    @property
    def pending_spans(self) -> int:
        """Spans held for traces whose root has not ended yet."""
        with self._lock:
            return sum(len(t.spans) for t in self._traces.values())

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        ready: list[tuple[int, list[ReadableSpan], _Counts]] = []
        with self._lock:
            roots: list[tuple[int, int]] = []
            for span in spans:
                if span.context is None:
                    continue
                trace = self._traces.setdefault(span.context.trace_id, _Trace())
                trace.finished += 1
                start = span.start_time or 0
                trace.first_start = min(trace.first_start or start, start)
                is_root = span.parent is None or span.parent.is_remote
                if len(trace.spans) < self.max_held_spans or is_root:  # a root is always held
                    trace.spans[span.context.span_id] = span
                else:
                    trace.unheld.add(span)
                if is_root:
                    roots.append((span.context.trace_id, span.context.span_id))
            for trace_id, root_id in roots:
                ready.append(self._take(trace_id, root_id))
            notes = self._progress(spans)
        for note in notes:
            self.printer.print(note)
        for trace_id, tree_spans, unheld in ready:
            self._print(trace_id, tree_spans, unheld, complete=True)
        return SpanExportResult.SUCCESS

    def _progress(self, spans: Sequence[ReadableSpan]) -> list[Text]:
        """A one-line note for each open trace every ``progress_every`` seconds of its time (the
        spans' own clock), so a long run shows life before its tree prints."""
        from rich.text import Text

        if not self.progress_every:
            return []
        every = int(self.progress_every * 1e9)
        latest: dict[int, ReadableSpan] = {}  # the last span to end, of each open trace
        for span in sorted(spans, key=lambda span: span.end_time or 0):
            if span.context is not None and span.context.trace_id in self._traces:
                latest[span.context.trace_id] = span
        notes: list[Text] = []
        for trace_id, span in latest.items():
            trace = self._traces[trace_id]
            now = span.end_time or 0
            since = trace.last_note or trace.first_start
            if now - since < every:
                continue
            trace.last_note = now
            run_type = _run_type(span)
            last = f"{shown_type(run_type)}:{span_run_name(span)}" if run_type else span.name
            notes.append(
                Text.assemble(
                    ("… ", _MARK),
                    (f"trace {trace_id:032x}", "bold"),
                    " running ",
                    (elapsed(now - trace.first_start), "yellow"),
                    f": {_count(trace.finished, 'span')} finished, last ",
                    (clean(last), "bold"),
                )
            )
        return notes

    def _take(self, trace_id: int, root_id: int) -> tuple[int, list[ReadableSpan], _Counts]:
        """The root's spans (it and its descendants), no longer held."""
        trace = self._traces[trace_id]
        children: dict[int, list[int]] = {}
        for sid, span in trace.spans.items():
            if span.parent is not None and not span.parent.is_remote:
                children.setdefault(span.parent.span_id, []).append(sid)
        taken: list[ReadableSpan] = []
        stack = [root_id]
        while stack:
            sid = stack.pop()
            found = trace.spans.pop(sid, None)
            if found is not None:
                taken.append(found)
            stack.extend(children.get(sid, ()))
        unheld = trace.unheld
        trace.unheld = _Counts()
        if not trace.spans:
            del self._traces[trace_id]
        return trace_id, taken, unheld

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing to flush: finished traces are printed as their roots end (an open trace is not
        printed early, which would split it)."""
        return True

    def shutdown(self) -> None:
        """Prints what is still held (traces whose root never ended), marked incomplete."""
        if self._shutdown:
            return
        with self._lock:
            leftovers = [(tid, list(t.spans.values()), t.unheld) for tid, t in self._traces.items()]
            self._traces.clear()
            self._shutdown = True
        for trace_id, spans, unheld in leftovers:
            self._print(trace_id, spans, unheld, complete=False)

    # rendering -----------------------------------------------------------------------------
    def _print(self, trace_id: int, spans: Sequence[ReadableSpan], unheld: _Counts, complete: bool) -> None:
        try:
            self.printer.print(*self.layout.renderables(trace_id, spans, unheld, complete))
        except Exception as error:  # an exporter must never break the app
            self.printer.failures += 1
            logger.warning(
                "otelchain console: a trace could not be printed: %s: %s", type(error).__name__, error
            )


def _money(amount: float, currency: str) -> str:
    """``$0.00042``, ``$1.25``, ``0.5 EUR``: cents for a dollar or more, else 2 significant digits."""
    shown = f"{amount:,.2f}" if amount >= 1 else f"{amount:.2g}"
    if "e" in shown:  # below 0.0001: positional, never 1.2e-05
        shown = f"{amount:.10f}".rstrip("0").rstrip(".")
    return f"${shown}" if currency == "USD" else f"{shown} {currency}"


def _cost_text(counts: _Counts, model: str | None) -> Text:
    """``cost $0.0123`` for the trace (``model`` None) or one model; ``(2 of 3 calls priced)``
    when some calls of a trace had no price (an unknown model)."""
    from rich.text import Text

    parts = []
    for key, amount in counts.items():
        if (
            isinstance(key, tuple)
            and key[0] == "cost"
            and (len(key) == 2 if model is None else key[2:] == (model,))
        ):
            parts.append(_money(float(amount), str(key[1])))
    text = Text.assemble("cost ", (" + ".join(parts), "bold"))
    calls = sum(counts["calls", m] for m in counts.each("calls")) if model is None else None
    if calls is not None and counts["priced"] < calls:
        text.append(f" ({_n(counts['priced'])} of {_count(calls, 'call')} priced)", _MARK)
    return text


_EXECUTOR_NAMES = frozenset({"agent_executor", "AgentExecutor"})  # agent executors: chain runs
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


def _run_type(span: ReadableSpan) -> str | None:
    return attrs_run_type(span.attributes or {})


def _label_type(span: ReadableSpan) -> str:
    """The type in a run's label: LangChain's (an agent executor's run is a chain run, as the
    verbose log prints it), except a LangGraph agent, labelled an agent as its span says."""
    attrs = span.attributes or {}
    run_type = _run_type(span)
    if (
        run_type == "agent"
        and attrs.get(A.OTELCHAIN_RUN_TYPE) != "agent"
        and str(attrs.get(A.GEN_AI_AGENT_NAME)) not in _EXECUTOR_NAMES
    ):
        return "agent"
    return shown_type(run_type)


def _status_text(span: ReadableSpan) -> Text:
    """The span's own status (``OK``, ``ERROR``, ``UNSET``: instrumentation leaves a successful span
    UNSET), and the LangGraph control flow that ended it, if any."""
    from rich.text import Text

    code = span.status.status_code
    if code is StatusCode.ERROR:
        text = Text("ERROR", "bold red")
    elif code is StatusCode.OK:
        text = Text("OK", "green")
    else:
        text = Text("UNSET", "dim")
    flow = (span.attributes or {}).get(A.OTELCHAIN_CONTROL_FLOW)
    if flow:
        text.append(f"  {clean(str(flow))}", "yellow")
    return text


def _walk(node: _Node, runs_only: bool = False) -> list[_Node]:
    """The node and those below it (only through run spans if ``runs_only``: one run tree), in
    preorder; iterative, as a trace may be deeper than Python's recursion."""
    out: list[_Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        below = (
            [c for c in current.children if _run_type(c.span) is not None] if runs_only else current.children
        )
        stack.extend(reversed(below))
    return out


def _signature(node: _Node) -> tuple[str | None, str]:
    run_type = _run_type(node.span)
    if run_type is None:
        return None, node.span.name
    return shown_type(run_type), span_run_name(node.span)


def _collapsible(node: _Node) -> bool:
    """Only successful subtrees collapse: an error is always shown."""
    return all(n.span.status.status_code is not StatusCode.ERROR for n in _walk(node))

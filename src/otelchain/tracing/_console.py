"""Console output rendered from spans: verbose start/end lines and finished-trace trees.

`ConsoleSpanProcessor` prints LangChain's verbose lines as otelchain spans start and end, so
verbose mode shows exactly what an exporter would send. `ConsoleSpanTreeExporter` prints each
finished trace as an indented tree.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from otelchain.tracing import _attributes as A

__all__ = ["ConsoleSpanProcessor", "ConsoleSpanTreeExporter"]

_COLORS = {"start": "32", "end": "34", "error": "31", "action": "35"}  # green, blue, red, magenta
_TITLES = {"llm": "LLM", "chain": "Chain", "tool": "Tool", "retriever": "Retriever", "agent": "Agent"}


def _use_color(stream: IO[str], forced: bool | None) -> bool:
    if forced is not None:
        return forced
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except Exception:
        return False


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _value(attrs: Mapping[str, Any], key: str, mime_key: str) -> Any:
    """An attribute value as the data it encodes (JSON parsed back when its mime type says so)."""
    value = attrs.get(key)
    if value is None:
        return None
    if attrs.get(mime_key) == A.MIME_JSON and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value  # truncated JSON: show as text
    return value


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _elapsed(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def _error_text(span: ReadableSpan) -> str:
    """``ValueError('boom')``, rebuilt from the span's exception event."""
    for event in span.events:
        if event.name == "exception" and event.attributes:
            etype = str(event.attributes.get("exception.type", "Exception")).rsplit(".", 1)[-1]
            return f"{etype}({str(event.attributes.get('exception.message', ''))!r})"
    return str(span.status.description or "error")


def _shown_type(run_type: Any) -> Any:
    """LangChain prints an agent executor's run as a chain run (``[chain/start] [1:chain:...]``)."""
    return "chain" if run_type == "agent" else run_type


class ConsoleSpanProcessor(SpanProcessor):
    """Prints ``[chain/start] [1:chain:llm_chain] Entering Chain run with input:`` lines.

    The breadcrumb (execution order, run type, run name) is rebuilt from the spans' parents;
    colours only on a terminal unless ``color`` forces them (``NO_COLOR`` turns them off).
    """

    def __init__(self, stream: IO[str] | None = None, *, color: bool | None = None) -> None:
        self._stream = stream
        self.color = color
        self._lock = threading.Lock()
        self._live: dict[int, tuple[str, Iterator[int]]] = {}

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stdout

    def _print(
        self, kind: str, tag: str, crumbs: str, message: str, body: str | None, took: str | None
    ) -> None:
        head, crumb_text = f"[{tag}]", f"[{crumbs}]"
        stream = self.stream
        if _use_color(stream, self.color):
            head = f"\x1b[{_COLORS[kind]};1m{head}\x1b[0m"
            crumb_text = f"\x1b[1m{crumb_text}\x1b[0m"
        parts = [head, crumb_text]
        if took is not None:
            parts.append(f"[{took}]")
        parts.append(message)
        text = " ".join(parts)
        if body is not None:
            text += "\n" + body
        with self._lock:
            print(text, file=stream, flush=True)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            attrs = span.attributes or {}
            run_type = _shown_type(attrs.get(A.OTELCHAIN_RUN_TYPE))
            if run_type is None or span.context is None:
                return
            name = attrs.get(A.OTELCHAIN_RUN_NAME, span.name)
            parent = self._live.get(span.parent.span_id) if span.parent is not None else None
            counter: Iterator[int]
            if parent is None:
                crumbs, counter = f"1:{run_type}:{name}", itertools.count(2)
            else:
                counter = parent[1]
                crumbs = f"{parent[0]} > {next(counter)}:{run_type}:{name}"
            self._live[span.context.span_id] = (crumbs, counter)
            if run_type == "tool" and attrs.get(A.INPUT_MIME_TYPE) != A.MIME_JSON:
                body: Any = attrs.get(A.INPUT_VALUE)
            else:
                body = _value(attrs, A.INPUT_VALUE, A.INPUT_MIME_TYPE)
            title = _TITLES.get(str(run_type), str(run_type).title())
            self._print(
                "start", f"{run_type}/start", crumbs, f"Entering {title} run with input:", _pretty(body), None
            )
        except Exception:  # printing must never break a run
            return

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if span.context is None:
                return
            entry = self._live.pop(span.context.span_id, None)
            if entry is None:
                return
            attrs = span.attributes or {}
            run_type = str(_shown_type(attrs.get(A.OTELCHAIN_RUN_TYPE)))
            title = _TITLES.get(run_type, run_type.title())
            took = _elapsed(((span.end_time or 0) - (span.start_time or 0)) / 1e9)
            if span.status.status_code is StatusCode.ERROR:
                self._print(
                    "error",
                    f"{run_type}/error",
                    entry[0],
                    f"{title} run errored with error:",
                    _pretty(_error_text(span)),
                    took,
                )
                return
            body = _value(attrs, A.OUTPUT_VALUE, A.OUTPUT_MIME_TYPE)
            self._print(
                "end", f"{run_type}/end", entry[0], f"Exiting {title} run with output:", _pretty(body), took
            )
        except Exception:
            return

    def print_agent_action(self, span: ReadableSpan, index: int) -> None:
        """``[agent/action] [...] Agent selected action:`` from the span's action attributes."""
        attrs = span.attributes or {}
        entry = self._live.get(span.context.span_id) if span.context is not None else None
        if entry is None:
            return
        action = {
            "tool": attrs.get(A.agent_action_attr(index, "tool")),
            "tool_input": _maybe_json(attrs.get(A.agent_action_attr(index, "tool_input"))),
            "log": attrs.get(A.agent_action_attr(index, "log")),
        }
        self._print("action", "agent/action", entry[0], "Agent selected action:", _pretty(action), None)

    def print_agent_finish(self, span: ReadableSpan) -> None:
        """``[agent/finish] [...] Agent finished with:`` from the span's finish attributes."""
        attrs = span.attributes or {}
        entry = self._live.get(span.context.span_id) if span.context is not None else None
        if entry is None:
            return
        finish = {
            "return_values": {"output": _maybe_json(attrs.get(A.AGENT_FINISH_OUTPUT))},
            "log": attrs.get(A.AGENT_FINISH_LOG),
        }
        self._print("action", "agent/finish", entry[0], "Agent finished with:", _pretty(finish), None)

    def shutdown(self) -> None:
        self._live.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# --- finished traces as trees ----------------------------------------------------------------


def _short(value: Any, width: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


class ConsoleSpanTreeExporter(SpanExporter):
    """Prints each finished trace as an indented tree, readable at a glance in a terminal.

    One line per span: name, duration, status, and what matters for its kind (model and
    tokens in/out, tool input/output, agent actions, number of token events). Spans are held
    until their trace's local root ends; plain text when the stream is not a terminal.
    """

    def __init__(
        self, stream: IO[str] | None = None, *, color: bool | None = None, orphan_timeout: float = 30.0
    ) -> None:
        self._stream = stream
        self.color = color
        self.orphan_timeout = orphan_timeout
        self._lock = threading.Lock()
        self._pending: dict[int, list[ReadableSpan]] = {}
        self._first_seen: dict[int, float] = {}
        self._shutdown = False

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stdout

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        ready: list[list[ReadableSpan]] = []
        now = time.monotonic()
        with self._lock:
            roots: set[int] = set()
            for span in spans:
                if span.context is None:
                    continue
                tid = span.context.trace_id
                self._pending.setdefault(tid, []).append(span)
                self._first_seen.setdefault(tid, now)
                if span.parent is None or span.parent.is_remote:
                    roots.add(tid)
            for tid in list(self._pending):
                if tid in roots or now - self._first_seen[tid] > self.orphan_timeout:
                    ready.append(self._take(tid))
        for trace_spans in ready:
            self._print_trace(trace_spans)
        return SpanExportResult.SUCCESS

    def _take(self, tid: int) -> list[ReadableSpan]:
        self._first_seen.pop(tid, None)
        return self._pending.pop(tid)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            ready = [self._take(tid) for tid in list(self._pending)]
        for trace_spans in ready:
            self._print_trace(trace_spans)
        return True

    def shutdown(self) -> None:
        self.force_flush()
        self._shutdown = True

    # rendering -----------------------------------------------------------------------------
    def render(self, spans: Sequence[ReadableSpan]) -> str:
        """The tree text of one trace's spans (no colour)."""
        return "\n".join(self._lines(spans, color=False))

    def _print_trace(self, spans: Sequence[ReadableSpan]) -> None:
        try:
            stream = self.stream
            text = "\n".join(self._lines(spans, color=_use_color(stream, self.color)))
            with self._lock:
                print(text, file=stream, flush=True)
        except Exception:  # an exporter must never break the app
            return

    def _lines(self, spans: Sequence[ReadableSpan], *, color: bool) -> list[str]:
        by_id = {s.context.span_id: s for s in spans if s.context is not None}
        children: dict[int | None, list[ReadableSpan]] = {}
        for s in spans:
            parent = s.parent.span_id if s.parent is not None and s.parent.span_id in by_id else None
            children.setdefault(parent, []).append(s)
        for group in children.values():
            group.sort(key=lambda s: s.start_time or 0)
        roots = children.get(None, [])
        tid = roots[0].context.trace_id if roots and roots[0].context is not None else 0
        lines = [f"trace {tid:032x}"]

        def walk(span: ReadableSpan, prefix: str, last: bool) -> None:
            branch = "└─ " if last else "├─ "
            lines.append(prefix + branch + self._describe(span, color))
            inner = prefix + ("   " if last else "│  ")
            for extra in self._details(span):
                lines.append(inner + "· " + extra)
            kids = children.get(span.context.span_id if span.context is not None else None, [])
            for i, kid in enumerate(kids):
                walk(kid, inner, i == len(kids) - 1)

        for i, root in enumerate(roots):
            walk(root, "", i == len(roots) - 1)
        return lines

    @staticmethod
    def _describe(span: ReadableSpan, color: bool) -> str:
        attrs = span.attributes or {}
        took = _elapsed(((span.end_time or 0) - (span.start_time or 0)) / 1e9)
        failed = span.status.status_code is StatusCode.ERROR
        status = f"ERROR {span.status.description or ''}".rstrip() if failed else "OK"
        name = span.name
        if color:
            name = f"\x1b[1m{name}\x1b[0m"
            status = f"\x1b[{'31' if failed else '32'}m{status}\x1b[0m"
        parts = [name, took, status]
        model = attrs.get(A.GEN_AI_RESPONSE_MODEL) or attrs.get(A.GEN_AI_REQUEST_MODEL)
        if model:
            parts.append(f"model={model}")
        tin, tout = attrs.get(A.GEN_AI_USAGE_INPUT_TOKENS), attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS)
        if tin is not None or tout is not None:
            parts.append(
                f"tokens in={tin if tin is not None else '?'} out={tout if tout is not None else '?'}"
            )
        token_events = sum(1 for e in span.events if e.name == A.EVENT_NEW_TOKEN)
        if token_events:
            parts.append(f"token events={token_events}")
        return "  ".join(parts)

    @staticmethod
    def _details(span: ReadableSpan) -> list[str]:
        attrs = span.attributes or {}
        out: list[str] = []
        if attrs.get(A.GEN_AI_OPERATION_NAME) == A.OP_EXECUTE_TOOL:
            if A.INPUT_VALUE in attrs:
                out.append(f"input: {_short(attrs[A.INPUT_VALUE])}")
            if A.OUTPUT_VALUE in attrs:
                out.append(f"output: {_short(attrs[A.OUTPUT_VALUE])}")
        count = attrs.get(A.AGENT_ACTION_COUNT)
        if isinstance(count, int):
            for i in range(count):
                tool = attrs.get(A.agent_action_attr(i, "tool"))
                if tool is None:
                    continue
                tool_input = attrs.get(A.agent_action_attr(i, "tool_input"))
                shown = f"({_short(tool_input, 60)})" if tool_input is not None else ""
                out.append(f"action {i}: {tool}{shown}")
        if A.AGENT_FINISH_OUTPUT in attrs:
            out.append(f"finish: {_short(attrs[A.AGENT_FINISH_OUTPUT])}")
        return out

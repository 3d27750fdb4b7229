"""`ConsoleSpanTreeExporter`: each finished trace as a tree, printed when its local root span ends
(never on a timer, so a long run is never split), in time order, bounded for huge traces, with
totals (spans, errors, tokens and cost by model)."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from otelchain._options import check_bool, check_int, check_seconds
from otelchain.tracing import _names as A
from otelchain.tracing._console.printer import Printer, Printing, clean, console_width
from otelchain.tracing._console.render import (
    MARK_STYLE,
    TREE_LIMITS,
    Limits,
    count_text,
    dotted,
    elapsed,
    error_renderable,
    group,
    labelled,
    llm_summary,
    number_text,
    parsed,
    shown_type,
    span_error,
    span_llm_summary,
    span_run_name,
    span_run_type,
    span_value,
    streamed_tokens,
    value_renderable,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text
    from rich.tree import Tree

__all__ = ["ConsoleSpanTreeExporter"]

logger = logging.getLogger("otelchain.tracing")


# --- finished traces as trees ----------------------------------------------------------------


class _Counts(Counter[Any]):
    """What the totals add up (so two counts add like counters): ``spans``, ``errors``,
    ``streamed`` and tokens ``in``/``out``; ``("n", kind)`` spans taking ``("ns", kind)``; and
    ``("calls", model)`` with its tokens ``("in", model)`` and ``("out", model)``; model calls
    with a cost (``priced``, ``("priced", model)``) and their cost by currency (``("cost",
    currency)``, ``("cost", currency, model)``)."""

    def add(self, span: ReadableSpan) -> None:
        attrs = span.attributes or {}
        kind = span_run_type(span) or "other"
        failed = span.status.status_code is StatusCode.ERROR
        took = (span.end_time or 0) - (span.start_time or 0)
        self.update({"spans": 1, "errors": int(failed), ("n", kind): 1, ("ns", kind): took})
        if kind != "llm":
            return
        tin, tout = attrs.get(A.GEN_AI_USAGE_INPUT_TOKENS), attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS)
        tin = tin if isinstance(tin, int) else 0
        tout = tout if isinstance(tout, int) else 0
        model = str(attrs.get(A.GEN_AI_RESPONSE_MODEL) or attrs.get(A.GEN_AI_REQUEST_MODEL) or "?")
        self.update({"streamed": streamed_tokens(span), "in": tin, "out": tout})
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
            tree.add(
                Text(f"… {number_text(rest)} more spans not shown (max_spans={self.max_spans})", MARK_STYLE)
            )
        if unheld["spans"]:
            tree.add(
                Text(
                    f"… {number_text(unheld['spans'])} more spans not held "
                    f"(max_held_spans={self.max_held_spans}); counted in the totals",
                    MARK_STYLE,
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
            if span_run_type(node.span) is None:
                node.label = clean(node.span.name)
                continue
            parent = node.span.parent
            owner = nodes.get(parent.span_id) if parent is not None else None
            if owner is not None and span_run_type(owner.span) is not None:
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
            branch.add(Text(f"… {number_text(hidden)} deeper spans", MARK_STYLE))
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
        tools_left = sum(1 for c in node.children if span_run_type(c.span) == "tool")
        last_was_step = False
        for child in node.children:
            run_type = span_run_type(child.span)
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

        for _, alike in itertools.groupby(items, similar):
            run = list(alike)
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
        run_type = span_run_type(span)
        head = Text()
        head.append(node.label, "bold" if run_type is not None else "")
        head.append("  ")
        head.append(elapsed((span.end_time or 0) - (span.start_time or 0)), "yellow")
        head.append("  ")
        head.append_text(_status_text(span))
        if run_type == "llm":
            summary = span_llm_summary(span, with_model=False)
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
                value = span_value(span, self.limits, output=False)
                if value is not None:
                    rows.append(("input", value))
                if not failed:
                    value = span_value(span, self.limits, output=True)
                    if value is not None:
                        rows.append(("output", value))
        if failed:
            rows.append(("error", error_renderable(span_error(span))))
        for event in span.events:
            if event.name == A.EVENT_LANGGRAPH_INTERRUPT:
                rows.append(("paused", self._pause(event.attributes or {})))
        dropped = attrs.get(A.OTELCHAIN_EVENTS_DROPPED)
        if isinstance(dropped, int) and dropped:
            rows.append(
                ("note", Text(f"{number_text(dropped)} events dropped (span event limit)", MARK_STYLE))
            )
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
        text = Text(
            f"… {number_text(len(nodes))} more {name} runs like these, all OK: {elapsed(took)} in all",
            MARK_STYLE,
        )
        if counts["in"] or counts["out"]:
            text.append(
                f", tokens {number_text(counts['in'])} in / {number_text(counts['out'])} out", MARK_STYLE
            )
        if counts["streamed"]:
            text.append(f", streamed {number_text(counts['streamed'])}", MARK_STYLE)
        hidden = counts["spans"] - len(nodes)
        if hidden > 0:
            text.append(f" ({number_text(hidden)} child spans)", MARK_STYLE)
        return text

    def _totals(self, counts: _Counts, unheld: _Counts, roots: Sequence[_Node]) -> RenderableType:
        from rich.text import Text

        counts.update(unheld)
        start = min((n.span.start_time or 0 for n in roots), default=0)
        end = max((n.span.end_time or 0 for n in roots), default=0)
        first = [
            Text.assemble((elapsed(end - start), "bold yellow"), " wall"),
            Text(count_text(counts["spans"], "span")),
            Text(count_text(counts["errors"], "error"), style="bold red" if counts["errors"] else ""),
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
                (kind, "bold"),
                f" {number_text(counts['n', kind])}x ",
                (elapsed(counts["ns", kind]), "yellow"),
            )
            for kind in kinds
        )
        summed = Text("summed per kind: ", MARK_STYLE)  # nested runs overlap: more than the wall time
        summed.append_text(dotted(time))
        rows: list[tuple[str, RenderableType]] = [("totals", dotted(first)), ("time", summed)]
        used = [model for model in counts.each("calls") if counts["in", model] or counts["out", model]]
        if used:
            used.sort(key=lambda model: -(counts["in", model] + counts["out", model]))
            models = (
                Text.assemble(
                    (clean(model), "bold"),
                    f" {count_text(counts['calls', model], 'call')}, {number_text(counts['in', model])} in"
                    f" / {number_text(counts['out', model])} out",
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
        # every option checked up front (color and width by the printer): one clear error
        for name, value in (("max_spans", max_spans), ("max_held_spans", max_held_spans),
                            ("max_value_lines", max_value_lines)):  # fmt: skip
            check_int(name, value, 1)
        check_int("collapse_after", collapse_after, 0)
        check_bool("show_content", show_content)
        check_seconds("progress_every", progress_every, none="never")
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
            run_type = span_run_type(span)
            last = f"{shown_type(run_type)}:{span_run_name(span)}" if run_type else span.name
            notes.append(
                Text.assemble(
                    ("… ", MARK_STYLE),
                    (f"trace {trace_id:032x}", "bold"),
                    " running ",
                    (elapsed(now - trace.first_start), "yellow"),
                    f": {count_text(trace.finished, 'span')} finished, last ",
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
        text.append(f" ({number_text(counts['priced'])} of {count_text(calls, 'call')} priced)", MARK_STYLE)
    return text


_EXECUTOR_NAMES = frozenset({"agent_executor", "AgentExecutor"})  # agent executors: chain runs


def _label_type(span: ReadableSpan) -> str:
    """The type in a run's label: LangChain's (an agent executor's run is a chain run, as the
    verbose log prints it), except a LangGraph agent, labelled an agent as its span says."""
    attrs = span.attributes or {}
    run_type = span_run_type(span)
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
            [c for c in current.children if span_run_type(c.span) is not None]
            if runs_only
            else current.children
        )
        stack.extend(reversed(below))
    return out


def _signature(node: _Node) -> tuple[str | None, str]:
    run_type = span_run_type(node.span)
    if run_type is None:
        return None, node.span.name
    return shown_type(run_type), span_run_name(node.span)


def _collapsible(node: _Node) -> bool:
    """Only successful subtrees collapse: an error is always shown."""
    return all(n.span.status.status_code is not StatusCode.ERROR for n in _walk(node))

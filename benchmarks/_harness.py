# ruff: noqa: RUF001, RUF002, RUF003  (× and µ are the units of the tables)
"""The measuring core of the benchmark suite, shared by every scenario and every virtual environment.

It needs only the OpenTelemetry SDK (the peers' environments do not have otelchain installed).

- Times are thread CPU time (``time.thread_time``): another process's load does not add to them,
  and the BatchSpanProcessor's export thread is not charged to the run.
- Variants are interleaved: every round times each variant once, starting at a rotating position,
  so drift (frequency, caches, neighbours) hits all of them alike; the figure is the median round.
- Every figure that matters is a ratio to a raw SDK span start+end timed in the same process.
- The SDK floor of a traced variant is measured, not assumed: its spans are captured once and
  replayed through the raw SDK (same names, kinds, parents, attributes and events) around the same
  untraced workload, attributes set at start and at end as the traced run set them, so "own work"
  is what the tracing adds above what the SDK must do anyway.
- A traced variant has a sampled-out twin: the same tool on a provider whose sampler is
  ``ParentBased(ALWAYS_OFF)``, so what a run the sampler drops still costs is measured beside it.
- What goes on the wire is measured on the spans the counting exporter received: their OTLP
  protobuf encoding (each span message, without the request's resource and scope envelope) and
  their attributes, per span.
- Every tool records message content the same way (``CONTENT_ENV``, set by ``content_mode``).
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

__all__ = [
    "CONTENT_ENV",
    "CONVENTION_SETTINGS",
    "CountingExporter",
    "Scenario",
    "Variant",
    "capture",
    "content_mode",
    "format_table",
    "make_provider",
    "plan_counts",
    "measure",
    "replay",
    "rss_kib",
    "token_yardstick",
    "wire",
]

# Content captured on span attributes by every tool, each through the setting it reads:
# OpenTelemetry's GenAI instrumentations and otelchain read the official variable (the official
# LangChain instrumentation records no content without it), Traceloop reads its own (default on),
# OpenInference reads its TraceConfig variables (default: nothing hidden).
CONTENT_ENV = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
    "TRACELOOP_TRACE_CONTENT": "true",
    "OPENINFERENCE_HIDE_INPUTS": "false",
    "OPENINFERENCE_HIDE_OUTPUTS": "false",
    "OPENINFERENCE_HIDE_INPUT_MESSAGES": "false",
    "OPENINFERENCE_HIDE_OUTPUT_MESSAGES": "false",
    "OPENINFERENCE_HIDE_INPUT_TEXT": "false",
    "OPENINFERENCE_HIDE_OUTPUT_TEXT": "false",
}
# otelchain's ``conventions=`` settings whose weight on the wire is measured: the handler's
# default (whatever ``conventions=None`` gives), OpenInference only, every scheme at once
CONVENTION_SETTINGS: dict[str, str | None] = {
    "default": None,
    "openinference": "openinference",
    "gen_ai,openinference,otelchain": "gen_ai,openinference,otelchain",
}
# settings that would change what a tool records, cleared for the run (otelchain's default
# conventions are what "default" measures)
_CLEARED_ENV = (
    "OTELCHAIN_CONVENTIONS",
    "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT",
    "OTEL_SEMCONV_STABILITY_OPT_IN",
)


def content_mode() -> Callable[[], None]:
    """Set ``CONTENT_ENV`` (and clear the settings that would change what a tool records) in this
    process; returns the undo."""
    saved = {name: os.environ.get(name) for name in (*CONTENT_ENV, *_CLEARED_ENV)}
    os.environ.update(CONTENT_ENV)
    for name in _CLEARED_ENV:
        os.environ.pop(name, None)

    def undo() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    return undo


class CountingExporter(SpanExporter):
    """Discards every span but counts them (spans lost = spans started - spans counted); keeps
    the first ``keep`` spans it received (what they weigh on the wire is measured on them)."""

    def __init__(self, keep: int = 0) -> None:
        self.count = 0
        self.keep = keep
        self.kept: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        if len(self.kept) < self.keep:
            self.kept.extend(spans[: self.keep - len(self.kept)])
        return SpanExportResult.SUCCESS


def make_provider(
    processor: str, *, sampled: bool = True, keep: int = 0
) -> tuple[TracerProvider, CountingExporter]:
    """A provider with the SDK's default span limits and a Simple or (default) Batch processor;
    ``sampled=False``: its sampler is ``ParentBased(ALWAYS_OFF)`` (every root run dropped)."""
    exporter = CountingExporter(keep)
    provider = TracerProvider() if sampled else TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    if processor == "simple":
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(exporter))  # the SDK's defaults
    return provider, exporter


class _StartAttributes(SpanProcessor):
    """Remembers the attributes each span had when it started (the rest were set later)."""

    def __init__(self) -> None:
        self.by_span: dict[int, dict[str, Any]] = {}

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.by_span[span.context.span_id] = dict(span.attributes or {})


def capture(install: Callable[[TracerProvider], Callable[[], None]], unit: Callable[[], object]) -> list[Any]:
    """The spans one unit of work emits under a tracing set up by ``install(provider)`` (which
    returns its undo), as replayable plans."""
    exporter = InMemorySpanExporter()
    started = _StartAttributes()
    provider = TracerProvider()
    provider.add_span_processor(started)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    undo = install(provider)
    try:
        unit()
    finally:
        undo()
    provider.shutdown()
    return plan_of(list(exporter.get_finished_spans()), started.by_span)


Plan = list[tuple[str, Any, dict[str, Any], dict[str, Any], list[Any], int | None]]


def plan_of(spans: list[ReadableSpan], started: dict[int, dict[str, Any]]) -> Plan:
    """(name, kind, attributes at start, attributes set later, events, parent index) per span,
    in start order."""
    spans = sorted(spans, key=lambda s: s.start_time or 0)
    index = {span.context.span_id: i for i, span in enumerate(spans) if span.context is not None}
    plan = []
    for span in spans:
        parent = index.get(span.parent.span_id) if span.parent is not None else None
        events = [(event.name, dict(event.attributes or {})) for event in span.events]
        final = dict(span.attributes or {})
        at_start = started.get(span.context.span_id, {}) if span.context is not None else {}
        start = {k: v for k, v in final.items() if k in at_start}
        later = {k: v for k, v in final.items() if k not in at_start}
        plan.append((span.name, span.kind, start, later, events, parent))
    return plan


def wire(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """What ``spans`` weigh in OTLP: the protobuf encoding of each span message (the request's
    resource and scope envelope, shared by a whole batch, left out), attributes and events, each
    per span."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    n = len(spans)
    if not n:
        return {"spans": 0, "bytes_per_span": None, "attributes_per_span": None, "events_per_span": None}
    request = encode_spans(spans)
    size = sum(
        span.ByteSize()
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    )
    return {
        "spans": n,
        "bytes_per_span": size / n,
        "attributes_per_span": sum(len(span.attributes or {}) for span in spans) / n,
        "events_per_span": sum(len(span.events) for span in spans) / n,
    }


def plan_counts(plan: Plan) -> tuple[int, int]:
    """(events, attributes) a plan's spans carry."""
    return sum(len(step[4]) for step in plan), sum(len(step[2]) + len(step[3]) for step in plan)


def replay(tracer: Any, plan: Plan) -> Callable[[Callable[[], object]], None]:
    """The raw SDK doing exactly the span work of ``plan`` around a body (the untraced run):
    the floor of a traced variant. The spans start before the body and end after it, as a span
    placed around the run would; the attributes a run only knows at its end (its output) are
    set at the end."""
    set_in = trace.set_span_in_context

    def around(body: Callable[[], object]) -> None:
        live: list[Any] = []
        for name, kind, attributes, _, events, parent in plan:
            context = set_in(live[parent]) if parent is not None else None
            span = tracer.start_span(name, context=context, kind=kind, attributes=attributes)
            for event_name, event_attributes in events:
                span.add_event(event_name, event_attributes)
            live.append(span)
        try:
            body()
        finally:
            for span, step in zip(reversed(live), reversed(plan), strict=True):
                if step[3]:
                    span.set_attributes(step[3])
                span.end()

    return around


def token_yardstick(scenario: Scenario, texts: list[str]) -> None:
    """Make a stream scenario's raw variants a raw span with one ``add_event`` per token carrying
    the attributes otelchain records (``token.index``, ``token.text``): ×raw is then per token."""
    for variant in scenario.variants:
        if variant.role != "raw":
            continue
        tracer = variant.provider.get_tracer("bench")

        def add_events(tracer: Any = tracer) -> None:
            span = tracer.start_span("raw")
            add = span.add_event
            for i, text in enumerate(texts):
                add("new_token", {"token.index": i, "token.text": text})
            span.end()

        variant.name = variant.name.replace("raw span", "raw add_event per token")
        variant.fn = add_events
    scenario.notes.append(
        "×raw is per token against a raw add_event carrying token.index and token.text; the floor "
        "replays the span the tool exported (otelchain coalesces events once the span's event budget "
        "would run out, so no token is dropped)"
    )


def rss_kib() -> int:
    """Resident set size of this process in KiB (Linux), 0 where unknown."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError):
        return 0


@dataclass
class Variant:
    """One way of running a scenario's unit of work.

    ``role``: ``body`` (the work with no run machinery), ``base`` (no callbacks), ``noop``, ``raw``
    (one raw span: the yardstick), ``floor`` (base + the SDK replay of a traced variant's spans),
    ``traced``, ``sampled`` (the traced variant on a provider that samples every run out).
    ``enter``/``exit`` wrap each timed round (an instrumentor switched on and off).
    """

    name: str
    role: str
    fn: Callable[[], object]
    processor: str = "batch"
    floor_of: str | None = None  # for role "floor": the traced variant it is the floor of
    floor: str | None = None  # for role "traced": its floor variant
    sampled_of: str | None = None  # for role "sampled": the traced variant it is the twin of
    enter: Callable[[], None] | None = None
    exit: Callable[[], None] | None = None
    provider: Any = None
    exporter: CountingExporter | None = None
    spans_per_unit: int = 0
    events_per_unit: int = 0  # span events the traced variant emits per unit
    attributes_per_unit: int = 0  # span attributes it sets per unit
    run_map: Callable[[], int] | None = None  # live runs left in the handler's run map
    calls: int = 0
    rounds: list[float] = field(default_factory=list)


@dataclass
class Scenario:
    """A unit of work, how many units per round, and its variants."""

    name: str
    unit: str  # "run", "trace", "token"
    per_call: int  # units per call (tokens per stream)
    n: int  # calls per round
    variants: list[Variant]
    notes: list[str] = field(default_factory=list)
    # what otelchain's spans weigh under each ``conventions`` setting (setting -> ``wire()``)
    conventions: dict[str, dict[str, Any]] = field(default_factory=dict)


def _timed(variant: Variant, n: int) -> float:
    fn = variant.fn
    gc.collect()  # each variant pays for its own garbage, not for the previous variant's
    if variant.enter is not None:
        variant.enter()
    try:
        start = time.thread_time()
        for _ in range(n):
            fn()
        elapsed = time.thread_time() - start
    finally:
        if variant.exit is not None:
            variant.exit()
    variant.calls += n
    return elapsed


def measure(scenario: Scenario, rounds: int, n: int | None = None) -> None:
    """Time every variant of ``scenario`` in ``rounds`` interleaved rounds (after a warm-up);
    ``n`` overrides the scenario's calls per round (the CI smoke test runs a few)."""
    if n is not None:
        scenario.n = n
    variants = scenario.variants
    for variant in variants:
        _timed(variant, max(1, scenario.n // 4))
    gc.collect()
    for r in range(rounds):
        for i in range(len(variants)):
            variant = variants[(i + r) % len(variants)]
            elapsed = _timed(variant, scenario.n)
            variant.rounds.append(elapsed / (scenario.n * scenario.per_call) * 1e6)


def retained_kib(variant: Variant, calls: int) -> float:
    """Python memory still held after ``calls`` more calls (spans flushed, garbage collected)."""
    if variant.enter is not None:
        variant.enter()
    try:
        if variant.provider is not None:
            variant.provider.force_flush()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(calls):
            variant.fn()
        variant.calls += calls
        if variant.provider is not None:
            variant.provider.force_flush()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    finally:
        if variant.exit is not None:
            variant.exit()
    return (after - before) / 1024


def results(scenario: Scenario, memory_calls: int) -> dict[str, Any]:
    """Medians, overheads and ratios of a measured scenario, as a JSON-ready dict."""
    by_name = {v.name: v for v in scenario.variants}
    med = {v.name: statistics.median(v.rounds) for v in scenario.variants}
    base = next((med[v.name] for v in scenario.variants if v.role == "base"), 0.0)
    body = next((med[v.name] for v in scenario.variants if v.role == "body"), None)
    raws = {v.processor: med[v.name] for v in scenario.variants if v.role == "raw"}
    raw_default = raws.get("batch") or next(iter(raws.values()))
    rows = []
    for v in scenario.variants:
        us = med[v.name]
        raw = raws.get(v.processor, raw_default)
        row: dict[str, Any] = {"variant": v.name, "role": v.role, "processor": v.processor, "us": us}
        if v.role in ("raw",):
            row["overhead_us"] = us
        elif v.role == "body":
            row["overhead_us"] = us - base
        else:
            row["overhead_us"] = us - base
        row["x_raw"] = row["overhead_us"] / raw
        if v.role == "traced" and v.floor is not None:
            floor_overhead = med[v.floor] - base
            row["floor_us"] = floor_overhead
            # a floor lost in the noise (a stream's one span beside 10,000 tokens) gives no ratio
            row["x_floor"] = row["overhead_us"] / floor_overhead if floor_overhead > 0.05 * raw else None
            row["own_x_raw"] = (row["overhead_us"] - floor_overhead) / raw
            minimal = next(
                (m for m in scenario.variants if m.role == "minimal" and m.processor == v.processor), None
            )
            if minimal is not None:  # own work split: the callback system's share, the handler's
                minimal_overhead = med[minimal.name] - base
                row["callbacks_x_raw"] = (minimal_overhead - floor_overhead) / raw
                row["handler_x_raw"] = (row["overhead_us"] - minimal_overhead) / raw
        if v.role == "traced" and v.exporter is not None and v.exporter.keep:
            v.provider.force_flush()
            row["wire"] = wire(v.exporter.kept)
        if v.exporter is not None:
            v.provider.force_flush()
            row["spans_per_unit"] = v.spans_per_unit
            if v.role == "traced":
                row["events_per_unit"] = v.events_per_unit
                row["attributes_per_unit"] = v.attributes_per_unit
            if v.role in ("traced", "floor", "raw", "minimal", "sampled"):
                row["spans_expected"] = v.calls * v.spans_per_unit
                row["spans_exported"] = v.exporter.count
                row["spans_lost"] = row["spans_expected"] - row["spans_exported"]
        if v.run_map is not None:
            row["run_map_left"] = v.run_map()
        row["spread"] = [min(v.rounds), max(v.rounds)]
        rows.append(row)
    by_row = {row["variant"]: row for row in rows}
    for v in scenario.variants:
        if v.role == "sampled" and v.sampled_of in by_row:
            traced_row, sampled_row = by_row[v.sampled_of], by_row[v.name]
            traced_row["sampled_out_us"] = sampled_row["overhead_us"]
            traced_row["sampled_out_pct"] = (
                sampled_row["overhead_us"] / traced_row["overhead_us"] * 100
                if traced_row["overhead_us"] > 0
                else None
            )
    if memory_calls:
        for row in rows:
            v = by_name[row["variant"]]
            if v.role in ("base", "noop", "traced"):
                row["retained_kib"] = retained_kib(v, memory_calls)
                row["retained_per_calls"] = memory_calls
                if v.exporter is not None:
                    v.provider.force_flush()
                    row["spans_expected"] = v.calls * v.spans_per_unit
                    row["spans_exported"] = v.exporter.count
                    row["spans_lost"] = row["spans_expected"] - row["spans_exported"]
                if v.run_map is not None:
                    row["run_map_left"] = v.run_map()
    out: dict[str, Any] = {
        "scenario": scenario.name,
        "unit": scenario.unit,
        "rounds": len(scenario.variants[0].rounds),
        "calls_per_round": scenario.n,
        "raw_us": raws,
        "base_us": base,
        "rows": rows,
        "notes": scenario.notes,
    }
    if scenario.conventions:
        out["conventions"] = scenario.conventions
    if body is not None:
        out["untraced_dispatch_us"] = base - body
    return out


def _fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _own(row: dict[str, Any], unit: str) -> str:
    own, spans = row.get("own_x_raw"), row.get("spans_per_unit", 1)
    if own is None:
        return ""
    if unit == "token" or spans <= 1:
        return f"{own:.2f}"
    return f"{own:.2f} ({own / spans:.2f}/span)"


def format_table(result: dict[str, Any]) -> str:
    """One scenario's result as a Markdown table (readable on a terminal too)."""
    unit = result["unit"]
    lines = [
        f"### {result['scenario']}  ({result.get('environment', '')}; µs per {unit}, median of "
        f"{result['rounds']} interleaved rounds)",
        "",
        f"| variant | µs/{unit} | overhead µs | ×raw | ×floor | own ×raw | spans lost | run map "
        "| retained KiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["rows"]:
        retained = row.get("retained_kib")
        retained_s = "" if retained is None else f"{retained:.1f} / {row['retained_per_calls']}"
        lines.append(
            f"| {row['variant']} | {row['us']:.2f} | {row['overhead_us']:.2f} | {row['x_raw']:.2f} | "
            f"{_fmt(row.get('x_floor'), '.2f')} | {_own(row, unit)} | "
            f"{_fmt(row.get('spans_lost'), 'd')} | {_fmt(row.get('run_map_left'), 'd')} | {retained_s} |"
        )
    if "untraced_dispatch_us" in result:
        lines.append("")
        lines.append(
            f"untraced dispatch above the bare body: {result['untraced_dispatch_us']:.2f} µs per {unit}"
        )
    for row in result["rows"]:
        if "sampled_out_us" in row:
            pct = row["sampled_out_pct"]
            lines.append("")
            lines.append(
                f"{row['variant']}, every run sampled out (ParentBased(ALWAYS_OFF)): "
                f"{row['sampled_out_us']:.2f} µs, {'n/a' if pct is None else f'{pct:.0f}%'} of sampled"
            )
        w = row.get("wire")
        if w and w["spans"]:
            lines.append("")
            lines.append(
                f"{row['variant']} on the wire: {w['bytes_per_span']:.0f} bytes (OTLP protobuf), "
                f"{w['attributes_per_span']:.1f} attributes, {w['events_per_span']:.1f} events per span"
            )
    for setting, w in result.get("conventions", {}).items():
        if w["spans"]:
            lines.append(
                f"- otelchain with conventions={setting}: {w['bytes_per_span']:.0f} bytes, "
                f"{w['attributes_per_span']:.1f} attributes per span"
            )
    for note in result.get("notes", ()):
        lines.append(f"- {note}")
    return "\n".join(lines)

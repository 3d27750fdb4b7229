# ruff: noqa: RUF001, RUF002, RUF003  (× and µ are the units of the tables)
"""The benchmark suite, in one command: otelchain's tracing against the raw OpenTelemetry SDK and
against OpenInference's, Traceloop's and OpenTelemetry's own (official) LangChain instrumentors,
side by side, every tool recording message content.

    python benchmarks/run.py            # the full suite (about 10-20 minutes on 2 shared cores)
    python benchmarks/run.py --quick    # small sizes, for iteration (about a minute)
    python benchmarks/run.py --only chain llm lc_chain --no-peers
    python benchmarks/run.py --quick --only llmchain lc_lcel --rounds 1 --calls 5   # a smoke run

Run it with the project's interpreter (``.venv/bin/python``). The peers' instrumentors run in their
own virtual environments under ``benchmarks/.venvs/`` (made on first use with the same
langchain-core and OpenTelemetry SDK versions as this interpreter; gitignored), one process per
tool, each re-measuring the floor in its own process. Prints a table per scenario and writes
``benchmarks/results/latest.json`` and ``latest.md`` (``--out DIR`` to change).

How to read a table (all times thread CPU time, median of interleaved rounds):
- overhead µs: the variant minus "no callbacks" (for raw spans: the raw span itself);
- ×raw: overhead ÷ one raw SDK span start+end with the same processor, in the same process (for
  a stream: ÷ one raw ``add_event`` with the same token attributes);
- ×floor: overhead ÷ the SDK floor's overhead, where the floor is the untraced run followed by the
  raw SDK replaying exactly the spans and events that the traced variant exported;
- own ×raw: (overhead - floor overhead) ÷ raw: the tracing's own work above what the SDK must do;
  "/span" divides it by the spans per trace;
- spans lost: spans started minus spans the (discarding, counting) exporter received;
- run map: runs left in the tool's per-run state at the end (otelchain's must be 0);
- retained KiB: Python memory still held after N more calls, spans flushed, garbage collected;
- sampled out: the same tool on a provider whose sampler is ``ParentBased(ALWAYS_OFF)``: its
  overhead in µs and as % of the sampled overhead;
- bytes / attributes per span: the OTLP protobuf encoding of the spans the exporter received
  (each span message, without the request's resource and scope envelope) and their attributes,
  per span; for otelchain also under each ``conventions=`` setting (``_harness.CONVENTION_SETTINGS``).

Every tool records message content (``_harness.CONTENT_ENV``: the official variable set to
``SPAN_ONLY``, Traceloop's ``TRACELOOP_TRACE_CONTENT=true``, OpenInference's ``OPENINFERENCE_HIDE_*``
off).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _harness import CONTENT_ENV, content_mode, format_table, measure, results  # noqa: E402

PEERS = {
    "openinference": "openinference-instrumentation-langchain",
    "traceloop": "opentelemetry-instrumentation-langchain",
    # OpenTelemetry's own (opentelemetry-python-contrib, instrumentation-genai): pre-releases only,
    # which a specifier naming a pre-release lets pip pick
    "official": "opentelemetry-instrumentation-genai-langchain>=1.3b0",
}
TOOLS = ("otelchain", "official", "openinference", "traceloop")
TOOL_NAMES = {
    "otelchain": "otelchain `instrument()`",
    "official": "OpenTelemetry (official)",
    "openinference": "OpenInference",
    "traceloop": "Traceloop",
}
LC_KEYS = ("lc_chain", "lc_nested", "lc_llm", "lc_lcel", "lc_stream", "lc_burst")
CORE_KEYS = ("chain", "llmchain", "nested", "llm", "stream", "agent", "burst")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": os.getloadavg(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _requirements(tool: str) -> list[str]:
    """What ``tool``'s virtual environment holds: the tool, with this interpreter's langchain-core
    and OpenTelemetry SDK versions."""
    return [
        f"langchain-core=={version('langchain-core')}",
        f"opentelemetry-sdk=={version('opentelemetry-sdk')}",
        f"opentelemetry-api=={version('opentelemetry-api')}",
        # the OTLP protobuf encoder, for the bytes per span of the spans the exporter received
        f"opentelemetry-exporter-otlp-proto-common=={version('opentelemetry-exporter-otlp-proto-common')}",
        PEERS[tool],
    ]


def peer_ready(tool: str) -> bool:
    """Whether ``tool``'s virtual environment is made and holds what it should (no install needed)."""
    venv = HERE / ".venvs" / tool
    stamp = venv / ".bench-requirements"
    return (
        (venv / "bin" / "python").exists()
        and stamp.exists()
        and stamp.read_text() == "\n".join(_requirements(tool))
    )


def peer_python(tool: str) -> Path:
    """The interpreter of ``tool``'s own virtual environment, made (or updated) on first use."""
    venv = HERE / ".venvs" / tool
    python = venv / "bin" / "python"
    requirements = _requirements(tool)
    stamp = venv / ".bench-requirements"
    want = "\n".join(requirements)
    if not python.exists():
        print(f"[bench] making {venv} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if not stamp.exists() or stamp.read_text() != want:
        print(f"[bench] installing {', '.join(requirements)} into {venv} ...", file=sys.stderr, flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
            check=True,
        )
        stamp.write_text(want)
    return python


def run_langchain(tool: str, python: str, args: argparse.Namespace, only: list[str] | None) -> dict[str, Any]:
    """One tool's langchain-core scenarios, in its own process."""
    command = [python, str(HERE / "langchain_scenarios.py"), "--tool", tool, "--json", "-"]
    if args.quick:
        command.append("--quick")
    if only:
        command += ["--only", *only]
    if args.rounds:
        command += ["--rounds", str(args.rounds)]
    if args.calls:
        command += ["--calls", str(args.calls)]
    if args.quick and args.calls:  # a smoke run: no burst, no memory figures
        command += ["--burst", "0", "--memory-calls", "0"]
    print(f"[bench] langchain-core scenarios with {tool} ({python}) ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=str(ROOT))
    return json.loads(done.stdout)


def versions_line(lc: dict[str, dict[str, Any]]) -> str:
    """The versions measured, and the content mode every tool ran with."""
    names = {
        "langchain-core": "langchain-core",
        "opentelemetry-sdk": "OpenTelemetry SDK",
        "opentelemetry-instrumentation-genai-langchain": "official instrumentation",
        "opentelemetry-util-genai": "opentelemetry-util-genai",
        "openinference-instrumentation-langchain": "OpenInference",
        "opentelemetry-instrumentation-langchain": "Traceloop",
    }
    seen: dict[str, str] = {
        "langchain-core": version("langchain-core"),
        "opentelemetry-sdk": version("opentelemetry-sdk"),
    }
    for out in lc.values():
        for dist, v in out.get("versions", {}).items():
            if dist in names:
                seen.setdefault(dist, v)
    listed = ", ".join(f"{names[d]} {v}" for d, v in seen.items())
    content = ", ".join(f"`{k}={v}`" for k, v in CONTENT_ENV.items())
    return f"Versions: {listed}. Content captured by every tool: {content}."


def burst_table(title: str, bursts: list[dict[str, Any]]) -> str:
    lines = [
        f"### {title}",
        "",
        "| variant | runs | µs/run (CPU) | runs/s (wall) | spans lost | run map | RSS at 10% | RSS at end "
        "| growth |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for b in bursts:
        samples = dict((int(r), kib) for r, kib in b["rss_kib_samples"])
        at = samples.get(int(b["rss_growth_pct_from"]))
        growth = b["rss_growth_pct"]
        run_map = "" if b["run_map_left"] is None else str(b["run_map_left"])
        lines.append(
            f"| {b['variant']} | {b['runs']:,} | {b['us_per_run_cpu']:.1f} | "
            f"{b['runs_per_s_wall'] or 0:,.0f} | "
            f"{b['spans_lost']} | {run_map} | {(at or 0) / 1024:.1f} MiB | "
            f"{samples[int(b['runs'])] / 1024:.1f} MiB | {'' if growth is None else f'{growth:+.1f}%'} |"
        )
    return "\n".join(lines)


def overview(core: list[dict[str, Any]]) -> str:
    """One line per otelchain scenario (the table in docs/benchmarks.md); the full tables have every row."""
    lines = [
        "### otelchain's own objects",
        "",
        "| scenario | untraced µs | no-op ×raw | raw µs | SDK floor ×raw | otelchain ×raw (Simple / Batch) "
        "| ×raw per span | ×floor | own ×raw per span | of which callbacks / handler "
        "| sampled out µs (% of sampled) | bytes / attributes per span | otelchain spans lost | run map |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in core:
        rows = {(x["role"], x["processor"]): x for x in r["rows"]}
        batch, simple = rows.get(("traced", "batch")), rows.get(("traced", "simple"))
        floor, noop, raw = (
            rows.get(("floor", "batch")),
            rows.get(("noop", "batch")),
            rows.get(("raw", "batch")),
        )
        if batch is None or floor is None or noop is None or raw is None:
            continue
        spans = 1 if r["unit"] == "token" else max(1, batch.get("spans_per_unit", 1))
        lost = sum(x.get("spans_lost", 0) for x in r["rows"] if x["role"] == "traced")
        simple_x = "n/a" if simple is None else f"{simple['x_raw']:.2f}"
        cells = [
            f"{r['scenario']} (per {r['unit']})",
            f"{r['base_us']:.2f}",
            f"{noop['x_raw']:.2f}",
            f"{raw['us']:.2f}",
            f"{floor['x_raw']:.2f}",
            f"{simple_x} / {batch['x_raw']:.2f}",
            f"{batch['x_raw'] / spans:.2f}",
            _x(batch.get("x_floor")),
            f"{batch['own_x_raw'] / spans:.2f}",
            _split(batch, spans),
            _sampled(batch),
            _wire(batch.get("wire")),
            str(lost),
            str(batch.get("run_map_left", "")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _split(row: dict[str, Any], spans: int) -> str:
    """Own work per span split into the callback system's share (a minimal handler emitting the
    same spans) and otelchain's handler logic."""
    if "callbacks_x_raw" not in row:
        return "n/a"
    return f"{row['callbacks_x_raw'] / spans:.2f} / {row['handler_x_raw'] / spans:.2f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def _sampled(row: dict[str, Any]) -> str:
    """A traced row's sampled-out twin: overhead µs (% of the sampled overhead)."""
    if "sampled_out_us" not in row:
        return "n/a"
    pct = row["sampled_out_pct"]
    return f"{row['sampled_out_us']:.1f} ({'n/a' if pct is None else f'{pct:.0f}%'})"


def _wire(w: dict[str, Any] | None) -> str:
    """Bytes / attributes per span."""
    if not w or not w["spans"]:
        return "n/a"
    return f"{w['bytes_per_span']:,.0f} / {w['attributes_per_span']:.1f}"


def _traced(result: dict[str, Any]) -> dict[str, Any]:
    """The traced row of a scenario (Batch where there are two)."""
    rows = [x for x in result["rows"] if x["role"] == "traced"]
    return next((x for x in rows if x["processor"] == "batch"), rows[0])


def _per_unit(result: dict[str, Any]) -> str:
    return "token" if result["unit"] == "token" else "call"


def wire_table(core: list[dict[str, Any]], lc: dict[str, dict[str, Any]]) -> str:
    """Bytes / attributes per span: otelchain under each ``conventions=`` setting, and the peers."""
    from _harness import CONVENTION_SETTINGS

    peers = [t for t in TOOLS if t in lc and t != "otelchain"]
    settings = list(CONVENTION_SETTINGS)
    lines = [
        "### On the wire: bytes / attributes per span",
        "",
        "OTLP protobuf bytes of each span message the exporter received (resource and scope envelope "
        "left out) / attributes, per span; otelchain under each `conventions=` setting (default: "
        "whatever `conventions=None` gives), the other tools as they come.",
        "",
        "| workload | spans per call (otelchain"
        + "".join(f" / {TOOL_NAMES[t]}" for t in peers)
        + ") | "
        + " | ".join(f"otelchain `{s}`" for s in settings)
        + "".join(f" | {TOOL_NAMES[t]}" for t in peers)
        + " |",
        "| --- | ---: |" + " ---: |" * (len(settings) + len(peers)),
    ]
    rows: list[tuple[str, dict[str, Any], dict[str, dict[str, Any]]]] = [
        (r["scenario"], r, {}) for r in core if r.get("conventions")
    ]
    for r in lc.get("otelchain", {}).get("scenarios", []):
        peer_results = {
            t: next((x for x in lc[t].get("scenarios", []) if x["key"] == r["key"]), None) for t in peers
        }
        rows.append((r["scenario"], r, {t: x for t, x in peer_results.items() if x is not None}))
    for title, r, peer_results in rows:
        conventions = r.get("conventions", {})
        spans = [str(_traced(r)["spans_per_unit"])] + [
            str(_traced(peer_results[t])["spans_per_unit"]) for t in peers if t in peer_results
        ]
        cells = [_wire(conventions.get(s)) for s in settings] + [
            _wire(_traced(peer_results[t]).get("wire")) if t in peer_results else "" for t in peers
        ]
        lines.append(f"| {title} | {' / '.join(spans)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(core: list[dict[str, Any]], lc: dict[str, dict[str, Any]], bursts: list[dict[str, Any]]) -> str:
    """The targets, each with the figure that decides it."""
    lines = ["### Targets", "", "| target | measured | holds |", "| --- | --- | --- |"]

    def row(target: str, measured: str, ok: bool) -> None:
        lines.append(f"| {target} | {measured} | {'yes' if ok else 'no'} |")

    by_key = {r["key"]: r for r in core}
    lean_and_sampling(by_key, lc, row)
    for key in ("chain", "nested", "llm"):
        r = by_key.get(key)
        if r is None:
            continue
        for row_ in r["rows"]:
            if row_["role"] == "traced" and row_["processor"] == "batch":
                per = row_["own_x_raw"] / max(1, row_.get("spans_per_unit", 1))
                row(
                    f"{r['scenario']}: own work ≤ 1.0× raw per span above the floor",
                    f"{per:.2f}× (×raw {row_['x_raw']:.2f}, ×floor {_x(row_.get('x_floor'))})",
                    per <= 1.0,
                )
    for key in ("chain", "llm"):
        r = by_key.get(key)
        if r is None or "untraced_dispatch_us" not in r:
            continue
        row(
            f"{r['scenario']}: untraced dispatch ≤ 10 µs",
            f"{r['untraced_dispatch_us']:.1f} µs",
            r["untraced_dispatch_us"] <= 10,
        )
        noop = next(x for x in r["rows"] if x["role"] == "noop")
        row(f"{r['scenario']}: no-op handler ≤ 0.3× raw", f"{noop['x_raw']:.2f}×", noop["x_raw"] <= 0.3)
    r = by_key.get("stream")
    if r is not None:
        t = next(x for x in r["rows"] if x["role"] == "traced" and x["processor"] == "batch")
        row("stream: per token ≤ 1.5× a raw add_event", f"{t['x_raw']:.2f}×", t["x_raw"] <= 1.5)
    r = by_key.get("agent")
    if r is not None:
        t = next(x for x in r["rows"] if x["role"] == "traced" and x["processor"] == "batch")
        row(
            "the demo's agent ≤ 2× the SDK's own work for its spans and events",
            _x(t.get("x_floor")),
            t.get("x_floor") is not None and t["x_floor"] <= 2.0,
        )
    for b in bursts:
        growth = b["rss_growth_pct"]
        row(
            f"{b['variant']}: {b['runs']:,} runs, zero spans lost, run map empty, memory flat (±5%)",
            f"{b['spans_lost']} lost, run map {'n/a' if b['run_map_left'] is None else b['run_map_left']}, "
            f"RSS {'' if growth is None else f'{growth:+.1f}%'} from run {b['rss_growth_pct_from']:,}",
            b["spans_lost"] == 0 and not b["run_map_left"] and growth is not None and abs(growth) <= 5,
        )
    for tool, out in lc.items():
        for r in out.get("scenarios", []):
            t = next(x for x in r["rows"] if x["role"] == "traced")
            if tool == "otelchain" and r["unit"] != "token":
                per = t["own_x_raw"] / max(1, t.get("spans_per_unit", 1))
                row(f"{r['scenario']}: otelchain's own work ≤ 1.0× raw per span", f"{per:.2f}×", per <= 1.0)
    return "\n".join(lines)


def lean_and_sampling(by_key: dict[str, dict[str, Any]], lc: dict[str, dict[str, Any]], row: Any) -> None:
    """The targets of the lean-spans work, each with the figure that decides it."""
    r = by_key.get("llmchain")
    if r is not None:
        t = _traced(r)
        per_run = t["x_raw"] / max(1, t["spans_per_unit"])
        row(
            "LLMChain call: overhead ≤ 3.25× a raw span per run (default settings)",
            f"{per_run:.2f}×",
            per_run <= 3.25,
        )
    by_tool = {tool: {x["key"]: x for x in out.get("scenarios", [])} for tool, out in lc.items()}
    ours, official = by_tool.get("otelchain", {}).get("lc_lcel"), by_tool.get("official", {}).get("lc_lcel")
    if ours is not None and official is not None:
        a, b = _traced(ours), _traced(official)
        ratio = a["overhead_us"] / b["overhead_us"] if b["overhead_us"] > 0 else float("inf")
        row(
            "LCEL chain, content captured by both: otelchain's overhead per call ≤ 0.8× the official "
            "instrumentation's, one span per run",
            f"{ratio:.2f}× ({a['overhead_us']:.1f} vs {b['overhead_us']:.1f} µs; {a['spans_per_unit']} vs "
            f"{b['spans_per_unit']} spans; against each process's own raw span, which cancels the machine's "
            f"drift between the two processes: {a['x_raw']:.2f}× vs {b['x_raw']:.2f}×, "
            f"{a['x_raw'] / b['x_raw']:.2f}×)",
            ratio <= 0.8 and a["spans_per_unit"] == 4,
        )
    sampled = [(r["scenario"], _traced(r)) for r in by_key.values() if r["unit"] != "token"]
    sampled += [
        (r["scenario"], _traced(r)) for r in by_tool.get("otelchain", {}).values() if r["unit"] != "token"
    ]
    pcts = [(name, t["sampled_out_pct"]) for name, t in sampled if t.get("sampled_out_pct") is not None]
    if pcts:
        row(
            "otelchain: a run the sampler drops costs ≤ 20% of a sampled one",
            "; ".join(f"{name} {pct:.0f}%" for name, pct in pcts),
            all(pct <= 20 for _, pct in pcts),
        )
    for source, r in (
        ("otelchain's chat model", by_key.get("llm")),
        ("langchain-core chat model", by_tool.get("otelchain", {}).get("lc_llm")),
    ):
        conventions = (r or {}).get("conventions", {})
        default, today = conventions.get("default"), conventions.get("gen_ai,openinference,otelchain")
        if not default or not today or not default["spans"]:
            continue
        share = default["bytes_per_span"] / today["bytes_per_span"]
        row(
            f"{source}: the default span has ≤ 15 attributes and ≤ half the bytes of all conventions at once",
            f"{default['attributes_per_span']:.0f} attributes, {default['bytes_per_span']:,.0f} bytes "
            f"({share:.0%} of {today['bytes_per_span']:,.0f})",
            default["attributes_per_span"] <= 15 and share <= 0.5,
        )


def _workload(r: dict[str, Any]) -> str:
    return str(r["scenario"]).removeprefix("langchain-core: ")


def _rows(
    lc: dict[str, dict[str, Any]],
    tools: list[str],
    keys: list[str],
    title: Callable[[dict[str, Any]], str],
    cell: Callable[[dict[str, Any]], str],
) -> list[str]:
    """One table row per langchain-core scenario, one cell per tool (empty: not measured)."""
    rows = []
    for key in keys:
        cells, name = [], key
        for tool in tools:
            r = next((r for r in lc[tool].get("scenarios", []) if r["key"] == key), None)
            if r is None:
                cells.append("")
                continue
            name = title(r)
            cells.append(cell(r))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def comparison(lc: dict[str, dict[str, Any]]) -> str:
    """The tools side by side: ×raw and ×floor of each tool on each langchain-core workload, then
    the overhead per call and what a sampled-out call still costs."""
    tools = [t for t in TOOLS if t in lc]
    lines = [
        "### langchain-core: the tools side by side",
        "",
        "Each cell: ×raw; ×floor; spans / events / attributes emitted per unit; spans lost.",
        "",
        "| workload | " + " | ".join(TOOL_NAMES[t] for t in tools) + " |",
        "| --- |" + " ---: |" * len(tools),
    ]
    keys = [k for k in LC_KEYS if any(r["key"] == k for t in tools for r in lc[t].get("scenarios", []))]

    def ratios(r: dict[str, Any]) -> str:
        t = next(x for x in r["rows"] if x["role"] == "traced")
        x_floor = "n/a" if t.get("x_floor") is None else f"{t['x_floor']:.2f}×"
        return (
            f"{t['x_raw']:.2f}×; {x_floor}; {t['spans_per_unit']} / {t.get('events_per_unit', 0)} / "
            f"{t.get('attributes_per_unit', 0)}; {t.get('spans_lost', 0)}"
        )

    def overheads(r: dict[str, Any]) -> str:
        t = _traced(r)
        pct = t.get("sampled_out_pct")
        share = "n/a" if pct is None else f"{pct:.0f}%"
        out = "n/a" if "sampled_out_us" not in t else f"{t['sampled_out_us']:.2f} ({share})"
        return f"{t['overhead_us']:.2f} / {out}"

    lines += _rows(lc, tools, keys, _workload, ratios)
    lines += [
        "",
        "Overhead per call (per token for the stream), µs: sampled / every run sampled out "
        "(`ParentBased(ALWAYS_OFF)`), and in brackets the sampled-out overhead as % of the sampled.",
        "",
        "| workload | " + " | ".join(TOOL_NAMES[t] for t in tools) + " |",
        "| --- |" + " ---: |" * len(tools),
    ]
    lines += _rows(lc, tools, keys, lambda r: f"{_workload(r)} (per {_per_unit(r)})", overheads)
    leaks = sorted(
        {
            TOOL_NAMES[t]
            for t in tools
            for r in lc[t].get("scenarios", [])
            if r.get("leaves_context_when_sampled_out")
        }
    )
    kept = []
    for tool in tools:
        left = {
            _workload(r): x["run_map_left"]
            for r in lc[tool].get("scenarios", [])
            for x in r["rows"]
            if x["role"] == "sampled" and x.get("run_map_left")
        }
        if left:
            listed = "; ".join(f"{name} {n:,}" for name, n in left.items())
            kept.append(f"{TOOL_NAMES[tool]} ({listed})")
    if kept:
        lines += [
            "",
            "Runs a tool still holds in its per-run state at the end of a scenario (it never drops a run "
            f"whose span was sampled out, so the state grows with every such run): {'; '.join(kept)}.",
        ]
    if leaks:
        lines += [
            "",
            f"{', '.join(leaks)} left a context attached after a sampled-out call (a later call runs inside "
            "it); the suite puts the ambient context back after each sampled-out call of every tool.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--only", nargs="*", help=f"scenarios: {' '.join(CORE_KEYS + LC_KEYS)}")
    parser.add_argument(
        "--no-peers",
        action="store_true",
        help="skip OpenInference, Traceloop and the official instrumentation",
    )
    parser.add_argument("--peers", nargs="*", choices=list(PEERS), help="only these peers (default: all)")
    parser.add_argument("--calls", type=int, default=None, help="calls per round (default: each scenario's)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 11, quick 3)")
    parser.add_argument("--out", default=str(HERE / "results"), help="directory for latest.json / latest.md")
    args = parser.parse_args(argv)
    undo = content_mode()  # every tool records content: otelchain here, the peers in their processes
    try:
        return _run(args)
    finally:
        undo()


def _run(args: argparse.Namespace) -> int:
    from otelchain_scenarios import SCENARIOS, burst

    rounds = args.rounds or (3 if args.quick else 11)
    info = machine()
    print(
        f"[bench] {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}, load {info['loadavg_start']}",
        file=sys.stderr,
        flush=True,
    )
    only = args.only
    tables: list[str] = []
    core: list[dict[str, Any]] = []
    for key, build in SCENARIOS.items():
        if only and key not in only:
            continue
        print(f"[bench] {key} ...", file=sys.stderr, flush=True)
        scenario = build(args.quick)
        measure(scenario, rounds, args.calls)
        memory_calls = 0 if args.calls else (20 if args.quick else (200 if scenario.unit != "token" else 2))
        result = results(scenario, memory_calls)
        result["environment"] = "otelchain env"
        result["key"] = key
        core.append(result)
        tables.append(format_table(result))
        print(tables[-1] + "\n", flush=True)
    if core:
        tables.insert(0, overview(core))
    bursts: list[dict[str, Any]] = []
    if not only or "burst" in only:
        runs = 20_000 if args.quick else 1_000_000
        print(f"[bench] burst of {runs:,} runs ...", file=sys.stderr, flush=True)
        bursts.append(burst(runs, runs // 10))
        tables.append(burst_table(f"{runs:,} otelchain chain runs into a discarding exporter", bursts))
        print(tables[-1] + "\n", flush=True)
    lc: dict[str, dict[str, Any]] = {}
    lc_only = [k for k in only if k in LC_KEYS] if only else None
    if not only or lc_only:
        tools = ["otelchain"] + (
            [] if args.no_peers else (args.peers if args.peers is not None else list(PEERS))
        )
        for tool in tools:
            python = sys.executable if tool == "otelchain" else str(peer_python(tool))
            lc[tool] = run_langchain(tool, python, args, lc_only)
            for r in lc[tool]["scenarios"]:
                tables.append(format_table(r))
                print(tables[-1] + "\n", flush=True)
        lc_bursts = [b for out in lc.values() for b in out.get("bursts", [])]
        if lc_bursts:
            runs = lc_bursts[0]["runs"]
            tables.append(
                burst_table(
                    f"{runs:,} langchain-core RunnableLambda runs into a discarding exporter", lc_bursts
                )
            )
            print(tables[-1] + "\n", flush=True)
        if len(lc) > 1:
            tables.append(comparison(lc))
            print(tables[-1] + "\n", flush=True)
    if any(r.get("conventions") for r in core) or "otelchain" in lc:
        tables.append(wire_table(core, lc))
        print(tables[-1] + "\n", flush=True)
    all_bursts = bursts + [b for out in lc.values() for b in out.get("bursts", [])]
    tables.append(summary(core, lc, all_bursts))
    print(tables[-1] + "\n", flush=True)
    info["loadavg_end"] = os.getloadavg()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": info,
        "quick": args.quick,
        "rounds": rounds,
        "content": CONTENT_ENV,
        "otelchain": core,
        "bursts": bursts,
        "langchain": lc,
    }
    (out_dir / "latest.json").write_text(json.dumps(document, indent=1))
    header = (
        f"Measured {info['date_utc']} on {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"load average {info['loadavg_start'][0]:.2f} at start, {info['loadavg_end'][0]:.2f} at end"
        f"{' (--quick)' if args.quick else ''}. {versions_line(lc)}"
    )
    (out_dir / "latest.md").write_text(header + "\n\n" + "\n\n".join(tables) + "\n")
    print(header)
    print(f"[bench] wrote {out_dir / 'latest.json'} and {out_dir / 'latest.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

# ruff: noqa: RUF001, RUF002, RUF003  (× and µ are the units of the tables)
"""Instructions per call, counted by Valgrind (callgrind): a figure the machine's load does not move.

Timings on shared machines drift (the same raw SDK span measured 13 and 21 µs minutes apart), so
a change of a few percent, or two tools measured in two processes, cannot be told apart by time.
The instructions a call executes do not drift: this runs each variant of a scenario in its own
process under ``valgrind --tool=callgrind``, once with no calls and once with ``--calls`` calls
(after the same warm-up, with a fixed ``PYTHONHASHSEED`` and the garbage collector off during the
calls: when a collection falls would move the count), and divides the difference. Only the
main thread is counted, as the timed suite counts only its CPU time (the SDK's export thread
runs when the scheduler lets it, which would move the count). Instructions are not time: a
system call, a cache miss or an allocation costs more than its instructions, and tracing code
runs at fewer instructions per nanosecond than the untraced call, so the ×raw figures here are
lower than the timed ones. Read them beside the timed suite (`run.py`), for A/B comparisons.

    python benchmarks/instructions.py     # chain, llmchain; lc_lcel with otelchain and the official one
    python benchmarks/instructions.py --only lc_lcel lc_llm --tools otelchain official openinference
    python benchmarks/instructions.py --only llmchain --patch my_patch.py   # A/B: apply() before the calls

Needs ``valgrind`` on PATH (Debian: ``apt-get install valgrind``); the peers run in the virtual
environments `run.py` makes (on first use). Two processes run at a time (the counts do not depend
on it).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from run import peer_python  # the peers' environments, made as the timed suite makes them

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ROLES = ("base", "raw", "noop", "traced", "sampled")
DEFAULT_KEYS = ("chain", "llmchain", "lc_lcel")
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


# --- the child: one variant, N calls ------------------------------------------------------------
def _variant(key: str, role: str, tool: str) -> Any:
    sys.path.insert(0, str(HERE))
    if key.startswith("lc_"):
        import langchain_scenarios

        scenario = langchain_scenarios.SCENARIOS[key](langchain_scenarios.Tool(tool), True)
        return next(v for v in scenario.variants if v.role == role)
    import otelchain_scenarios

    scenario = otelchain_scenarios.SCENARIOS[key](True)
    return next(v for v in scenario.variants if v.role == role and v.processor == "batch")


def child(key: str, role: str, tool: str, calls: int, patch: str | None) -> None:
    """Warm up, then make ``calls`` calls of the variant; spans flushed before the process ends."""
    variant = _variant(key, role, tool)
    if patch:
        scope: dict[str, Any] = {}
        exec(compile(Path(patch).read_text(), patch, "exec"), scope)  # a local A/B patch file
        scope["apply"]()
    if variant.enter is not None:
        variant.enter()
    fn = variant.fn
    for _ in range(50):
        fn()
    gc.collect()
    gc.disable()  # a collection's cost depends on where it falls, not on the calls being counted
    for _ in range(calls):
        fn()
    if variant.provider is not None:
        variant.provider.force_flush()
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown: it would differ with what the calls left behind


# --- the parent ------------------------------------------------------------------------------------
def _python(tool: str) -> str:
    return sys.executable if tool == "otelchain" else str(peer_python(tool))


def count(key: str, role: str, tool: str, calls: int, patch: str | None) -> int:
    """Instructions the main thread of one child process executed."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--separate-threads=yes",
            "--dump-line=no",
            f"--callgrind-out-file={out}/cg.%p",
            _python(tool),
            str(Path(__file__).resolve()),
            "--child",
            key,
            role,
            tool,
            str(calls),
        ]
        if patch:
            command += ["--patch", patch]
        env = dict(
            os.environ,
            PYTHONHASHSEED="0",
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        )
        done = subprocess.run(command, capture_output=True, text=True, cwd=str(ROOT), env=env, check=False)
        main = sorted(Path(out).glob("cg.*-01"))
        found = _TOTALS.search(main[0].read_text()) if main else None
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"{key}/{role}/{tool} failed:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def per_call(
    key: str, role: str, tool: str, calls: int, patch: str | None, pool: ThreadPoolExecutor
) -> Callable[[], float]:
    """Start the two counts (no calls, ``calls`` calls) in ``pool``; the function returned waits
    for them and gives the instructions per call, their difference ÷ ``calls``."""
    none = pool.submit(count, key, role, tool, 0, patch)
    some = pool.submit(count, key, role, tool, calls, patch)
    return lambda: (some.result() - none.result()) / calls


def table(results: dict[tuple[str, str], dict[str, float]]) -> str:
    lines = [
        "| scenario | tool | untraced | raw span | a no-op handler adds | tracing adds | ×raw "
        "| sampled out adds (% of sampled) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (key, tool), r in results.items():
        added = r["traced"] - r["base"]
        out = r["sampled"] - r["base"]
        lines.append(
            f"| {key} | {tool} | {r['base']:,.0f} | {r['raw']:,.0f} | {r['noop'] - r['base']:,.0f} "
            f"| {added:,.0f} | {added / r['raw']:.2f} | {out:,.0f} ({out / added:.0%}) |"
        )
    by_key: dict[str, dict[str, float]] = {}
    for (key, tool), r in results.items():
        by_key.setdefault(key, {})[tool] = r["traced"] - r["base"]
    for key, tools in by_key.items():
        if "otelchain" in tools and "official" in tools:
            lines.append(
                f"\n{key}: otelchain's instructions per call ÷ the official instrumentation's: "
                f"{tools['otelchain'] / tools['official']:.2f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--only", nargs="*", default=list(DEFAULT_KEYS), help="scenario keys")
    parser.add_argument("--tools", nargs="*", default=["otelchain", "official"], help="for the lc_ scenarios")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--patch", default=None, help="a file defining apply(), run before the calls")
    parser.add_argument("--child", nargs=4, metavar=("KEY", "ROLE", "TOOL", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        key, role, tool, calls = args.child
        child(key, role, tool, int(calls), args.patch)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH (Debian: apt-get install valgrind)")
    jobs: dict[tuple[str, str, str], Callable[[], float]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for key in args.only:
            for tool in args.tools if key.startswith("lc_") else ["otelchain"]:
                for role in ROLES:
                    jobs[key, tool, role] = per_call(key, role, tool, args.calls, args.patch, pool)
        results: dict[tuple[str, str], dict[str, float]] = {}
        for (key, tool, role), pending in jobs.items():
            figure = results.setdefault((key, tool), {})[role] = pending()
            print(f"[instructions] {key} {tool} {role}: {figure:,.0f}", file=sys.stderr, flush=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

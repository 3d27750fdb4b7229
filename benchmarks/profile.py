# ruff: noqa: RUF003  (× and µ are the units of the tables)
"""Where the time of one traced scenario goes: py-spy samples a loop of the scenario's traced
variant (otelchain, Batch processor) and this prints inclusive and self time per function.

    .venv/bin/pip install -e '.[bench]'                 # py-spy
    python benchmarks/profile.py chain [--seconds 20] [--variant "no-op handler"]
    python benchmarks/profile.py lc_chain                # langchain-core, otelchain instrument()

Only the main thread is counted (the BatchSpanProcessor's export thread is not a run's cost).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def loop(key: str, variant: str | None, seconds: float) -> None:
    """Run the chosen variant's unit of work for ``seconds`` (what py-spy samples)."""
    if key.startswith("lc_"):
        import langchain_scenarios

        scenario = langchain_scenarios.SCENARIOS[key](langchain_scenarios.Tool("otelchain"), True)
    else:
        import otelchain_scenarios

        scenario = otelchain_scenarios.SCENARIOS[key](True)
    chosen = next(
        v
        for v in scenario.variants
        if (v.name == variant if variant else v.role == "traced" and v.processor == "batch")
    )
    if chosen.enter is not None:
        chosen.enter()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(50):
            chosen.fn()


def _key(frame: str) -> str:
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})" if where else name


def summarize(raw: Path, top: int) -> str:
    """Inclusive and self share of the main thread's samples per function."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any("threading.py" in f for f in frames):
            continue  # the export thread
        n = int(count)
        total += n
        for key in {_key(f) for f in frames}:
            inclusive[key] += n
        own[_key(frames[-1])] += n
    lines = [f"{total} samples (main thread)", "", "inclusive:"]
    lines += [f"{n / total * 100:5.1f}%  {k}" for k, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"{n / total * 100:5.1f}%  {k}" for k, n in own.most_common(top // 2)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "scenario", help="chain, nested, llm, stream, agent, lc_chain, lc_nested, lc_llm, lc_stream"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--variant", default=None, help="a variant's name (default: otelchain, Batch)")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.loop:
        loop(args.scenario, args.variant, args.seconds)
        return 0
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("py-spy is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        command = [sys.executable, __file__, args.scenario, "--loop", "--seconds", str(args.seconds)]
        if args.variant:
            command += ["--variant", args.variant]
        subprocess.run(
            [py_spy, "record", "-r", "500", "-f", "raw", "-o", str(raw), "--", *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print(summarize(raw, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

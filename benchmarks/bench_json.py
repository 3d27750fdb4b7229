"""Cost of the JSON of span attribute values (`tracing._spans.values.json_text`) on the hot shapes.

Measures in one process, best of `--repeat` timeit runs: the encoder of this checkout ("after") and,
with `--before REF`, the two files `otelchain/_json.py` and `otelchain/tracing/_values.py` as they
were at that git commit, loaded side by side ("before"). Also checks both give the same text.
Run: python benchmarks/bench_json.py --before 74271ba
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import timeit
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from otelchain.tracing._spans import values as _values

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers import hot_json_shapes  # noqa: E402  (the shapes the JSON tests check)

LIMIT = 16_384  # the handler's default max_attribute_length


def load_before(ref: str) -> Callable[[Any, int | None], str]:
    """`json_text` from the two files at git commit `ref`, as modules of their own."""

    def source(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout

    old_json = types.ModuleType("_before_json")
    sys.modules[old_json.__name__] = old_json
    exec(compile(source("src/otelchain/_json.py"), "before/_json.py", "exec"), old_json.__dict__)
    old_values = types.ModuleType("_before_values")
    sys.modules[old_values.__name__] = old_values
    text = source("src/otelchain/tracing/_values.py").replace("from otelchain._json ", "from _before_json ")
    exec(compile(text, "before/_values.py", "exec"), old_values.__dict__)
    return old_values.json_text  # type: ignore[no-any-return]


def best_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Best-of-`repeat` mean time per call in microseconds (the least disturbed sample)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", help="git commit to compare with (loaded in this process)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    before = load_before(args.before) if args.before else None
    after = _values.json_text
    rows = []
    for name, value in hot_json_shapes().items():
        t0 = timeit.default_timer()
        after(value, LIMIT)
        once = timeit.default_timer() - t0
        number = max(1, min(20_000, int(0.05 / max(once, 1e-7))))
        row: dict[str, Any] = {
            "shape": name,
            "after_us": best_us(functools.partial(after, value, LIMIT), number, args.repeat),
        }
        if before is not None:
            row["before_us"] = best_us(functools.partial(before, value, LIMIT), number, args.repeat)
            row["same_text"] = before(value, LIMIT) == after(value, LIMIT)
        row["chars"] = len(after(value, LIMIT))
        rows.append(row)
    if args.json:
        print(json.dumps({"max_length": LIMIT, "before": args.before, "rows": rows}))
        return
    print(f"json_text(value, {LIMIT}), µs per call (best of {args.repeat})")
    print(f"{'shape':34} {'before':>10} {'after':>10} {'after/before':>13}  same text")
    for row in rows:
        b = row.get("before_us")
        ratio = f"{row['after_us'] / b:13.2f}" if b else f"{'':13}"
        bs = f"{b:10.2f}" if b else f"{'':10}"
        print(f"{row['shape']:34} {bs} {row['after_us']:10.2f} {ratio}  {row.get('same_text', '')}")


if __name__ == "__main__":
    main()

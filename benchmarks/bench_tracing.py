"""Cost of tracing a run, against a raw SDK span start+end, measured in the same process.

Budget (issue 5): tracing a run costs at most ~3x a raw SDK span start+end. "Tracing cost" is
(run with the OpenTelemetry handler) - (the same run with no handler): what tracing adds.

    python benchmarks/bench_tracing.py [--n 20000] [--check]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otelchain.callbacks import CallbackManagerForChainRun
from otelchain.chains import Chain
from otelchain.llms import FakeListLLM
from otelchain.tracing import OpenTelemetryCallbackHandler

BUDGET = 3.0


class NullExporter(SpanExporter):
    """Accepts every batch (the export thread still runs, as in production)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Echo(Chain):
    """The smallest chain: one input, one output."""

    type_name = "echo"

    @property
    def input_keys(self) -> list[str]:
        return ["x"]

    @property
    def output_keys(self) -> list[str]:
        return ["y"]

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        return {"y": inputs["x"]}


def measure(cases: dict[str, Callable[[], object]], n: int, rounds: int = 15) -> dict[str, float]:
    """Microseconds per call of each case: the best of many short interleaved rounds, so load
    from other processes (which only ever adds time) hits every case alike."""
    for fn in cases.values():
        for _ in range(min(n, 1000)):
            fn()
    best = dict.fromkeys(cases, float("inf"))
    gc.collect()
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / n * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when over budget")
    args = parser.parse_args(argv)

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NullExporter(), max_queue_size=1 << 16))
    tracer = provider.get_tracer("bench")
    handler = OpenTelemetryCallbackHandler(provider)
    chain, llm = Echo(), FakeListLLM(["hello world"])
    traced = [handler]

    def raw() -> None:
        tracer.start_span("raw").end()

    results = measure(
        {
            "raw SDK span start+end": raw,
            "chain run, no handler": lambda: chain.call({"x": 1}),
            "chain run, traced": lambda: chain.call({"x": 1}, traced),
            "LLM run, no handler": lambda: llm.call("say hi"),
            "LLM run, traced": lambda: llm.call("say hi", callbacks=traced),
        },
        args.n,
    )
    provider.shutdown()
    raw_us = results["raw SDK span start+end"]
    for name, us in results.items():
        print(f"{name:<28} {us:8.2f} us")
    ok = True
    for kind in ("chain", "LLM"):
        cost = results[f"{kind} run, traced"] - results[f"{kind} run, no handler"]
        ratio = cost / raw_us
        ok = ok and ratio <= BUDGET
        print(
            f"{kind} tracing cost {cost:6.2f} us = {ratio:.2f}x raw span "
            f"(whole traced run {results[f'{kind} run, traced'] / raw_us:.2f}x)  budget {BUDGET:.0f}x"
        )
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())

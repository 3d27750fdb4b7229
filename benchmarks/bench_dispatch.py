"""Cost of the callback core on the hot path, as a ratio to a raw OpenTelemetry SDK span.

Measures in one process: a raw SDK span start+end (the yardstick), a trivial chain run with no
handlers, with one no-op handler, and the same work called directly. Prints microseconds and the
ratio of otelchain's overhead to the raw span. Run: python benchmarks/bench_dispatch.py
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from typing import Any

from bench_tracing import Echo  # the smallest real chain, shared with the tracing benchmark
from opentelemetry.sdk.trace import TracerProvider

from otelchain.callbacks import BaseCallbackHandler


class NoOp(BaseCallbackHandler):
    """Implements nothing: every event is the base class's no-op."""


def best_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Best-of-`repeat` mean time per call in microseconds (the least disturbed sample)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    tracer = TracerProvider().get_tracer("bench")  # no processor: the SDK's own start+end cost

    def raw_span() -> None:
        tracer.start_span("raw").end()

    chain = Echo()
    direct_inputs = {"x": 1}
    noop = [NoOp()]
    results = {
        "raw_sdk_span_us": best_us(raw_span, args.number, args.repeat),
        "direct_call_us": best_us(lambda: chain._call(dict(direct_inputs), None), args.number, args.repeat),  # type: ignore[arg-type]
        "chain_no_handlers_us": best_us(lambda: chain.call(direct_inputs), args.number, args.repeat),
        "chain_noop_handler_us": best_us(lambda: chain.call(direct_inputs, noop), args.number, args.repeat),
    }
    overhead = results["chain_no_handlers_us"] - results["direct_call_us"]
    results["otelchain_overhead_no_handlers_us"] = overhead
    results["overhead_ratio_to_raw_span"] = overhead / results["raw_sdk_span_us"]
    results["noop_handler_ratio_to_raw_span"] = (
        results["chain_noop_handler_us"] - results["direct_call_us"]
    ) / results["raw_sdk_span_us"]
    if args.json:
        print(json.dumps(results))
        return
    for key, value in results.items():
        print(f"{key:40s} {value:8.2f}")


if __name__ == "__main__":
    main()

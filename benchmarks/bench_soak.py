"""Soak: many traced runs through an OTLP collector outage, then recovery.

Phase 1 ("outage"): the collector is down for ``--outage`` seconds while runs continue.
Phase 2 ("recovery"): a collector comes up on the same port; runs continue to ``--n`` in total.
Reports: calls that failed (must be 0), runs left in the handler, spans never ended, memory
(RSS) along the way, and the health accounting: exported + failed + dropped >= spans ended.

    python benchmarks/bench_soak.py [--n 1000000] [--outage 3600]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from otelchain.tracing import OpenTelemetryCallbackHandler, configure, health
from tests._servers.backends import free_port
from tests._servers.otlp_collector import OtlpCollector
from tests.helpers import Pipeline, Tally


def rss_mib() -> float:
    """Current resident set size (Linux /proc), else the peak."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000, help="traced calls in total (3 spans each)")
    parser.add_argument("--outage", type=float, default=3600.0, help="seconds the collector is down")
    args = parser.parse_args()
    quiet = logging.getLogger("opentelemetry")  # one line per failed batch otherwise; still counted
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False

    port = free_port()
    provider = configure(
        exporter="otlp",
        endpoint=f"http://127.0.0.1:{port}",
        protocol="http/protobuf",
        timeout=2,
        set_global=False,
    )
    tally = Tally()
    provider.add_span_processor(tally)
    handler = OpenTelemetryCallbackHandler(provider)
    failed_calls = 0
    samples: list[tuple[str, int, float]] = []
    start = time.monotonic()
    collector: OtlpCollector | None = None
    for i in range(args.n):
        if collector is None and time.monotonic() - start >= args.outage:
            samples.append(("outage ends", i, rss_mib()))
            collector = OtlpCollector("ok", port=port, keep=False).start()
        try:
            if Pipeline().call({"x": i}, [handler])["y"] != "echo abc":
                failed_calls += 1
        except Exception:
            failed_calls += 1
        if i % max(1, args.n // 10) == 0:
            samples.append(("", i, rss_mib()))
    if collector is None:
        samples.append(("outage ends (run finished first)", args.n, rss_mib()))
    provider.shutdown()
    elapsed = time.monotonic() - start
    h = health()
    received = collector.received if collector else 0
    if collector:
        collector.stop()
    print(f"calls {args.n:,} in {elapsed:.0f} s, outage {args.outage:.0f} s; failed calls {failed_calls}")
    print(f"runs left in the handler {len(handler.runs)}; spans never ended {len(tally.open)}")
    for label, i, mib in samples:
        print(f"  after {i:>9,} calls  RSS {mib:7.1f} MiB  {label}")
    accounted = h.spans_exported + h.spans_export_failed + h.spans_dropped
    print(
        f"spans ended {tally.ended:,}: exported {h.spans_exported:,} (collector received {received:,}), "
        f"export failed {h.spans_export_failed:,}, dropped by the queue {h.spans_dropped:,}; "
        f"accounted {accounted:,} ({'ok' if accounted >= tally.ended else 'MISSING'})"
    )


if __name__ == "__main__":
    main()

"""The exit flush: with the collector down, traces and metrics flush at the same time, so the
process exits within one ``flush_timeout`` (it took one per signal, one after the other); one line
says how many spans and metric points were dropped and where they were going; the SDK exporters'
retry messages are shown once per outage and summed up in that line.

The subprocess tests time the exit from the app's last line to the end of the process: the bound
is ``flush_timeout`` + 1 s, and a collector that is down would hold each signal for its exporter's
own timeout (10 s) without the bound."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from otelchain.tracing import configure
from otelchain.tracing._setup.delivery import Delivery, exit_line, flush_at_exit
from tests._servers.backends import free_port
from tests._servers.otlp_collector import OtlpCollector

FLUSH = 2.0
CALLS = 6  # two spans each: the chain and its chat model

APP = textwrap.dedent(
    """
    from otelchain.chains import LLMChain
    from otelchain.chat_models import FakeListChatModel
    from otelchain.prompts import PromptTemplate
    from otelchain.tracing import configure, instrument

    instrument(configure(service_name="exit-test", flush_timeout=FLUSH))
    for n in range(CALLS):
        chain = LLMChain(llm=FakeListChatModel(["3"]), prompt=PromptTemplate.from_template("1 + {n} ="))
        chain.call({"n": n})
    print("last line", flush=True)
    """
)


def run_app(endpoint: str, protocol: str) -> tuple[float, str]:
    """(seconds from the app's last line to the end of the process, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "OTELCHAIN_", "LANGCHAIN_"))}
    env |= {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol}
    code = f"FLUSH = {FLUSH}\nCALLS = {CALLS}\n" + APP
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        last_line = time.monotonic()
        assert line == "last line\n", proc.stderr.read()
        proc.wait(timeout=60)
        exited = time.monotonic()
        stderr = proc.stderr.read()
    assert proc.returncode == 0, stderr
    return exited - last_line, stderr


def sdk_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"Transient error|Failed to export", line)]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_collector_down_exit_within_one_flush_timeout_with_counts(protocol: str) -> None:
    """A port nothing listens on: both exporters retry; the exit waits for neither in turn."""
    port = free_port()
    took, stderr = run_app(f"http://127.0.0.1:{port}", protocol)
    assert took <= FLUSH + 1.0, (took, stderr)
    (line,) = [line for line in stderr.splitlines() if "exit flush" in line]
    traces, metrics = (
        (f"http://127.0.0.1:{port}/v1/traces", f"http://127.0.0.1:{port}/v1/metrics")
        if protocol == "http/protobuf"
        else (f"http://127.0.0.1:{port}",) * 2
    )
    assert f": {CALLS * 2} spans dropped for {traces}" in line, line
    assert re.search(rf"; [1-9][\d,]* metric points dropped for {re.escape(metrics)}", line), line
    assert len(sdk_messages(stderr)) <= 2, stderr  # at most the first message of each exporter


def test_a_collector_that_never_answers_holds_the_exit_no_longer() -> None:
    """A collector that accepts the request and never answers: each export blocks in its
    request (up to the exporter's 10 s timeout); the exit still ends within the bound."""
    with OtlpCollector("hang") as collector:
        took, stderr = run_app(collector.endpoint, "http/protobuf")
        assert collector.requests >= 2  # traces and metrics were both on their way
    assert took <= FLUSH + 1.0, (took, stderr)
    (line,) = [line for line in stderr.splitlines() if "exit flush" in line]
    assert line.startswith(f"otelchain: exit flush stopped after {FLUSH:.1f}s: {CALLS * 2} spans dropped")
    assert "metric points dropped for" in line


# --- in process ---------------------------------------------------------------------------------


def test_retry_messages_show_once_per_outage_and_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    """The real OTLP/HTTP exporter against a collector that answers 503, then 200, then 503."""
    from otelchain.chains import LLMChain
    from otelchain.llms import FakeListLLM
    from otelchain.prompts import PromptTemplate
    from otelchain.tracing import OpenTelemetryCallbackHandler
    from otelchain.tracing._setup.delivery import deliveries

    caplog.set_level(logging.WARNING)
    sdk = "opentelemetry.exporter"
    with OtlpCollector("503") as collector:
        # timeout 0.5 s: shorter than the first backoff, so each export fails without waiting
        provider = configure(
            exporter="otlp",
            endpoint=collector.endpoint,
            timeout=0.5,
            set_global=False,
            schedule_delay_millis=60_000,
        )
        (delivery,) = deliveries(provider)
        handler = OpenTelemetryCallbackHandler(provider)

        def export_one() -> None:  # two spans, one export
            chain = LLMChain(llm=FakeListLLM(["3"]), prompt=PromptTemplate.from_template("1 + {n} ="))
            chain.call({"n": 2}, [handler])
            provider.force_flush()

        export_one()
        export_one()
        assert len([r for r in caplog.records if r.name.startswith(sdk)]) == 1  # the first only
        assert delivery.hidden >= 1 and delivery.failed == 4
        collector.mode = "ok"
        export_one()  # the collector is back ...
        collector.mode = "503"
        export_one()  # ... and down again: a new outage, shown again
        assert len([r for r in caplog.records if r.name.startswith(sdk)]) == 2
        assert (delivery.exported, delivery.failed, delivery.undelivered) == (2, 6, 0)
        flush_at_exit(provider, timeout=5.0)
    logging.getLogger(f"{sdk}.otlp.proto.http.trace_exporter").warning("an exporter otelchain did not build")
    assert caplog.records[-1].getMessage() == "an exporter otelchain did not build"  # untouched


def test_exit_line_says_what_was_dropped_and_what_was_hidden() -> None:
    spans = Delivery("spans", "http://c:4318/v1/traces")
    points = Delivery("metric points", "http://c:4318/v1/metrics")
    spans.hidden = 4
    assert exit_line(5.0, False, [(spans, 1200, 0), (points, 1, 0)]) == (
        "otelchain: exit flush stopped after 5.0s: 1,200 spans dropped for http://c:4318/v1/traces "
        "(4 more export messages not shown); 1 metric point dropped for http://c:4318/v1/metrics"
    )
    assert exit_line(0.3, True, [(spans, 0, 30), (points, 0, 0)]) == (
        "otelchain: exit flush done in 0.3s: none left at exit for http://c:4318/v1/traces "
        "(4 more export messages not shown; 30 spans failed to export while the app ran)"
    )
    spans.hidden = 0
    assert exit_line(0.3, True, [(spans, 0, 30), (points, 0, 0)]) is None  # said by the health log


def test_the_exit_line_counts_what_is_still_queued_or_exporting(caplog: pytest.LogCaptureFixture) -> None:
    """A stuck exporter holds one batch in its export and a full queue (the rest is dropped by the
    queue and counted by health()): the exit line counts exactly what it still held."""
    import threading
    from collections.abc import Sequence

    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from otelchain.chains import LLMChain
    from otelchain.llms import FakeListLLM
    from otelchain.prompts import PromptTemplate
    from otelchain.tracing import OpenTelemetryCallbackHandler, health, reset_health
    from otelchain.tracing._setup.delivery import deliveries

    release, exporting = threading.Event(), threading.Event()

    class Stuck(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            exporting.set()
            release.wait()
            return SpanExportResult.SUCCESS

    reset_health()
    options = {"max_queue_size": 4, "max_export_batch_size": 2, "schedule_delay_millis": 60_000}
    provider = configure(exporter=Stuck(), set_global=False, **options)
    (stuck,) = deliveries(provider)
    handler = OpenTelemetryCallbackHandler(provider)
    chain = LLMChain(llm=FakeListLLM(["3"]), prompt=PromptTemplate.from_template("{n}"))
    try:
        chain.call({"n": 0}, [handler])  # 2 spans: a full batch, taken by the worker, stuck
        assert exporting.wait(10)
        for n in range(1, 10):  # 18 more: the queue keeps 4, the rest is dropped
            chain.call({"n": n}, [handler])
        assert health().spans_dropped == 14
        assert (stuck.undelivered, stuck.in_flight) == (6, 2)
        assert not flush_at_exit(provider, timeout=0.2)
        (line,) = [r.getMessage() for r in caplog.records if "exit flush" in r.getMessage()]
        assert line == "otelchain: exit flush stopped after 0.2s: 6 spans dropped for Stuck", line
    finally:
        release.set()
        reset_health()

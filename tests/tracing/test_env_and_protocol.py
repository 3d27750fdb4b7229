"""OTELCHAIN_TRACING=true alone shows spans; an endpoint on port 4317 means gRPC; every otelchain
boolean variable is read alike; a bad protocol falls back for traces and metrics alike."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from otelchain.tracing._setup.settings import _protocol

SCRIPT = textwrap.dedent(
    """
    from otelchain.chains import LLMChain
    from otelchain.llms import FakeListLLM
    from otelchain.prompts import PromptTemplate

    chain = LLMChain(llm=FakeListLLM(["3"]), prompt=PromptTemplate.from_template("1 + {n} ="))
    out = chain.call({"n": 2})
    print("trace_id", out.run_info.trace_id)
    """
)


def test_env_var_alone_traces_every_run_to_the_console_tree() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "LANGCHAIN_"))}
    env["OTELCHAIN_TRACING"] = "true"
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    trace_id = proc.stdout.split("trace_id ")[1].split()[0]
    assert len(trace_id) == 32 and trace_id != "None"
    assert f"trace {trace_id}" in proc.stdout  # printed by the span tree exporter at exit
    assert "└── 1:chain:llm_chain" in proc.stdout and "2:llm:fake-list" in proc.stdout


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://localhost:4317", "grpc"),
        ("http://collector:4318", "http/protobuf"),
        ("https://otlp.example.test", "http/protobuf"),
        (None, "http/protobuf"),
    ],
)
def test_protocol_follows_the_port_when_unset(
    endpoint: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in (
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    assert _protocol(None, endpoint) == expected
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    assert _protocol(None, endpoint) == "http/protobuf"  # an explicit protocol wins


def test_protocol_from_env_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317")
    assert _protocol(None, None) == "grpc"
    with pytest.raises(ValueError, match="must be one of"):
        _protocol("thrift", None)


# --- one reader for every otelchain boolean variable -----------------------------------------


def _verbose() -> bool:
    from otelchain.callbacks import get_verbose, set_verbose

    set_verbose(None)  # re-read the environment (read once at import)
    return get_verbose()


def _cost() -> bool:
    from otelchain.tracing._conventions.cost import cost_enabled

    return cost_enabled()


def _propagate_http() -> bool:
    from otelchain.tracing import OtelchainInstrumentor, http_propagation_enabled
    from tests.helpers import make_traced

    instrumentor = OtelchainInstrumentor()
    instrumentor.instrument(tracer_provider=make_traced().provider)
    try:
        return http_propagation_enabled()
    finally:
        instrumentor.uninstrument()


def _tracing() -> bool:
    from otelchain.tracing._setup.instrument import instrument_from_env, uninstrument

    try:
        return instrument_from_env()
    finally:
        uninstrument()


@pytest.mark.parametrize(
    ("variable", "read", "default"),
    [
        ("OTELCHAIN_VERBOSE", _verbose, False),
        ("LANGCHAIN_VERBOSE", _verbose, False),
        ("OTELCHAIN_COST", _cost, True),
        ("OTELCHAIN_PROPAGATE_HTTP", _propagate_http, False),
        ("OTELCHAIN_TRACING", _tracing, False),
    ],
)
def test_every_boolean_variable_reads_the_same_spellings_and_reports_a_bad_one_alike(
    variable: str,
    read: Callable[[], bool],
    default: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from otelchain import _options

    monkeypatch.setattr(_options, "_reported", set())
    monkeypatch.delenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", raising=False)
    for spelling, expected in [("TRUE", True), (" on ", True), ("1", True), ("No", False), ("off", False)]:
        monkeypatch.setenv(variable, spelling)
        assert read() is expected, spelling
    assert not [r for r in caplog.records if variable in r.getMessage()]
    monkeypatch.setenv(variable, "maybe")
    assert read() is default and read() is default
    warnings = [r for r in caplog.records if variable in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]  # once, however often it is read
    assert warnings[0].getMessage() == (
        f"otelchain: {variable}='maybe' is not a boolean (true/false, 1/0, yes/no, on/off); "
        f"using the default ({'on' if default else 'off'})"
    )


# --- a bad protocol: traces and metrics fall back alike ----------------------------------------


def test_a_bad_protocol_variable_falls_back_for_metrics_too(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Said once, and true for both: metrics go over the same fallback protocol (they were off)."""
    from opentelemetry.sdk.metrics import MeterProvider

    from otelchain import _options
    from otelchain.tracing import OpenTelemetryCallbackHandler, configure
    from otelchain.tracing._setup.metrics import configure_metrics
    from tests._servers.otlp_receiver import OtlpReceiver
    from tests.helpers import make_traced

    monkeypatch.setattr(_options, "_reported", set())
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    with OtlpReceiver() as backend:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", backend.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "bogus")
        configure(set_global=False).shutdown()
        meters = configure_metrics(set_global=False)  # what configure() sets up beside the traces
        assert isinstance(meters, MeterProvider)
        handler = OpenTelemetryCallbackHandler(make_traced().provider, meter_provider=meters)
        from otelchain.llms import FakeListLLM

        FakeListLLM(["3"]).call("1 + 2 =", callbacks=[handler])
        assert meters.force_flush(10_000)
        meters.shutdown()
        assert backend.requests, "no metrics arrived over the fallback protocol"
    lines = [r.getMessage() for r in caplog.records if "OTEL_EXPORTER_OTLP_PROTOCOL" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "'bogus'" in lines[0] and "http/protobuf for traces and metrics" in lines[0]

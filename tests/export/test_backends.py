"""The real backends themselves: loopback-only listeners, and raw OTLP spans surviving each path."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode

from tests._servers.backends import Phoenix, Rotel, is_loopback, listening_addresses


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.1")


def test_phoenix_listens_on_loopback_only(phoenix: Phoenix) -> None:
    listening = listening_addresses(phoenix.process.proc.pid)
    ports = {port for _, port in listening}
    assert {phoenix.http_port, phoenix.grpc_port} <= ports, listening
    exposed = {(ip, port) for ip, port in listening if not is_loopback(ip)}
    assert not exposed, f"Phoenix listens beyond loopback: {exposed}"


def test_rotel_listens_on_loopback_only(rotel: Rotel) -> None:
    listening = listening_addresses(rotel.process.proc.pid)
    assert {rotel.grpc_port, rotel.http_port} <= {port for _, port in listening}, listening
    assert all(is_loopback(ip) for ip, _ in listening), listening


def _exporter(path: str, phoenix: Phoenix, rotel: Rotel | None) -> SpanExporter:
    if path == "http":
        return HttpExporter(endpoint=phoenix.otlp_http_endpoint, timeout=5)
    if path == "grpc":
        return GrpcExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True, timeout=5)
    assert rotel is not None
    if path == "rotel-http":
        return HttpExporter(endpoint=rotel.otlp_http_endpoint, timeout=5)
    return GrpcExporter(endpoint=rotel.otlp_grpc_endpoint, insecure=True, timeout=5)


@pytest.mark.parametrize("path", ["http", "grpc", "rotel-http", "rotel-grpc"])
def test_raw_sdk_spans_round_trip(path: str, phoenix: Phoenix, request: pytest.FixtureRequest) -> None:
    """Names, parents, events, attributes and status of plain SDK spans survive each path to Phoenix."""
    rotel = request.getfixturevalue("rotel") if path.startswith("rotel") else None
    provider = TracerProvider(resource=Resource.create({"service.name": f"export-test-{path}"}))
    provider.add_span_processor(SimpleSpanProcessor(_exporter(path, phoenix, rotel)))
    tracer = provider.get_tracer("export-test")
    attrs = {"agent.action.0.tool": "calculator"}
    with (
        tracer.start_as_current_span("parent", attributes=attrs) as parent,
        tracer.start_as_current_span("child") as child,
    ):
        child.add_event("new_token", {"token.index": 0, "token.text": f"hi-{path}"})
        child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    trace_id = format(parent.get_span_context().trace_id, "032x")

    spans = {s["name"]: s for s in phoenix.spans(trace_id, expect=2)}
    assert set(spans) == {"parent", "child"}
    assert spans["parent"]["parent_id"] is None
    assert spans["child"]["parent_id"] == format(parent.get_span_context().span_id, "016x")
    assert spans["child"]["context"]["span_id"] == format(child.get_span_context().span_id, "016x")
    assert spans["parent"]["attributes"]["agent.action.0.tool"] == "calculator"
    assert spans["child"]["status_code"] == "ERROR"
    assert spans["child"]["status_message"] == "boom"
    events = spans["child"]["events"]
    assert [(e["name"], e["attributes"]) for e in events] == [
        ("new_token", {"token.index": 0, "token.text": f"hi-{path}"})
    ]


def test_listening_addresses_decodes_proc_net() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as v4, socket.socket(socket.AF_INET6) as v6:
        v4.bind(("127.0.0.1", 0))
        v4.listen()
        v6.bind(("::1", 0))
        v6.listen()
        expected = {("127.0.0.1", v4.getsockname()[1]), ("::1", v6.getsockname()[1])}
        assert expected <= listening_addresses(os.getpid())


@pytest.mark.parametrize("ci", ["true", ""])
def test_missing_backend_fails_under_ci_and_skips_locally(ci: str, tmp_path: Path) -> None:
    """Without the Phoenix venv a CI run must fail (never pass silently); a local run skips."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {
        "CI": ci,
        "OTELCHAIN_PHOENIX_VENV": str(tmp_path / "no-such-venv"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/export/test_backends.py::test_phoenix_listens_on_loopback_only"],
        cwd=root, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if ci:
        assert proc.returncode == 1, proc.stdout
        assert "1 error" in proc.stdout and "CI=true and the Phoenix virtualenv" in proc.stdout
    else:
        assert proc.returncode == 0, proc.stdout
        assert "1 skipped" in proc.stdout and "run scripts/setup_phoenix.sh" in proc.stdout

"""The demo tells the truth about export: the number of spans the collector accepted, or a failure
(exit 1) when the collector is down; and scripts/demo.sh installs the runtime dependencies only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._servers.backends import free_port
from tests._servers.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[2]


def run_demo(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "LANGCHAIN_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean | env,
    )


def test_demo_counts_the_spans_the_collector_accepted() -> None:
    with OtlpReceiver() as backend:
        proc = run_demo(OTEL_EXPORTER_OTLP_ENDPOINT=backend.endpoint)
        spans = backend.wait_for(6)
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"^(\d+) spans exported over OTLP to (\S+)$", proc.stdout, flags=re.M)
    assert match, proc.stdout
    assert int(match.group(1)) == len(spans) == 6
    assert {s.service for s in spans} == {"otelchain-demo"}


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_demo_reports_a_dead_collector_and_fails(protocol: str) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    proc = run_demo(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_EXPORTER_OTLP_PROTOCOL=protocol)
    assert proc.returncode == 1
    assert "spans exported" not in proc.stdout
    assert f"export FAILED: 6 spans could not be delivered to {endpoint} (0 delivered)" in proc.stderr
    assert "result: {'output': '256'}" in proc.stdout  # the app itself still worked
    # otelchain's exit line names each exporter by where it sends, never by a class the user never wrote.
    assert "Exporter" not in proc.stderr
    if protocol == "grpc":  # the span exporter has retry messages to sum up: it is in the line
        exit_line = next(line for line in proc.stderr.splitlines() if line.startswith("otelchain: exit"))
        assert re.search(rf"for {re.escape(endpoint)}/?\S* \(", exit_line), exit_line


def test_demo_script_installs_runtime_dependencies_only() -> None:
    script = (ROOT / "scripts" / "demo.sh").read_text()
    assert 'OTELCHAIN_EXTRAS="" source' in script
    venv = (ROOT / "scripts" / "_venv.sh").read_text()
    assert 'target="."' in venv  # no extras: `pip install -e .`

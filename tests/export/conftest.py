"""Fixtures starting the real backends once per session: Phoenix and rotel (tests/_servers/backends.py),
Jaeger v2 and the collector built for collector-config.yaml (tests/_servers/collector_jaeger.py)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests._servers.backends import (
    LAUNCHER,
    PHOENIX_PYTHON,
    PHOENIX_VENV,
    START_TIMEOUT_S,
    Phoenix,
    Rotel,
    clean_env,
    free_port,
    missing_backend,
    port_open,
    running_rotel,
    spawn,
)
from tests._servers.collector_jaeger import Collector, Jaeger, running_collector, running_jaeger


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    """Phoenix on 127.0.0.1 (HTTP and gRPC on ephemeral ports), stopped after the session."""
    if not PHOENIX_PYTHON.exists():
        missing_backend(f"the Phoenix virtualenv {PHOENIX_VENV} is missing")
    workdir = tmp_path_factory.mktemp("phoenix")
    http_port, grpc_port = free_port(), free_port()
    env = clean_env() | {
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
        "PYTHONUNBUFFERED": "1",
    }
    started = time.monotonic()
    process = spawn([str(PHOENIX_PYTHON), str(LAUNCHER), "serve"], env, workdir / "phoenix.log")
    client = httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10.0)
    try:
        while True:
            if process.proc.poll() is not None:
                pytest.fail(f"Phoenix exited with {process.proc.returncode}:\n{process.log_tail()}")
            if time.monotonic() - started > START_TIMEOUT_S:
                pytest.fail(f"Phoenix not ready after {START_TIMEOUT_S:.0f}s:\n{process.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/readyz").status_code == 200 and port_open(grpc_port):
                    break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        sys.stderr.write(f"\n[export] Phoenix ready in {elapsed:.1f}s on 127.0.0.1:{http_port}/{grpc_port}\n")
        yield Phoenix(http_port, grpc_port, process, elapsed, client)
    finally:
        client.close()
        process.stop()


@pytest.fixture(scope="session")
def rotel(phoenix: Phoenix, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rotel]:
    """rotel on 127.0.0.1 (app -> rotel -> Phoenix), 10 ms batches, stopped after the session."""
    with running_rotel(
        tmp_path_factory.mktemp("rotel"),
        "--exporter", "otlp",
        "--otlp-exporter-endpoint", phoenix.otlp_grpc_endpoint,
        "--otlp-exporter-protocol", "grpc",
        # Also log every span received (the Collector's debug format): the e2e tests read span
        # kinds there, which Phoenix does not keep.
        "--debug-log", "traces",
    ) as rotel:  # fmt: skip
        yield rotel


@pytest.fixture(scope="session")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaeger]:
    """Jaeger v2 (deploy/jaeger.yaml) on free 127.0.0.1 ports, stopped after the session."""
    with running_jaeger(tmp_path_factory.mktemp("jaeger")) as jaeger:
        yield jaeger


@pytest.fixture(scope="session")
def collector(jaeger: Jaeger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """The collector running collector-config.yaml in front of `jaeger`, stopped after the session."""
    with running_collector(tmp_path_factory.mktemp("collector"), jaeger) as collector:
        yield collector

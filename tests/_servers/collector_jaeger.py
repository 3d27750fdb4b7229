"""The deployment we ship, run for real: the OpenTelemetry Collector built from
deploy/otelcol-builder.yaml running collector-config.yaml, in front of Jaeger v2, on 127.0.0.1 only.

Both binaries are built from their Go modules by scripts/build_backends.sh (once per machine, into a
cache folder). Without them the tests skip locally and FAIL under CI (CI=true). The collector runs the
shipped config plus deploy/collector-local.yaml (addresses only), Jaeger runs deploy/jaeger.yaml; each
address is moved to a free loopback port through the environment variables those files name.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests._servers.backends import (
    ROOT,
    OtlpServer,
    _Process,
    clean_env,
    free_port,
    missing_backend,
    port_open,
    spawn,
)

BUILD_SCRIPT = ROOT / "scripts" / "build_backends.sh"
MANIFEST_PATH = ROOT / "deploy" / "otelcol-builder.yaml"
JAEGER_GO_MOD = ROOT / "deploy" / "jaeger" / "go.mod"
CONFIG_PATH = ROOT / "collector-config.yaml"
COLLECTOR_LOCAL = ROOT / "deploy" / "collector-local.yaml"
JAEGER_CONFIG = ROOT / "deploy" / "jaeger.yaml"
START_TIMEOUT_S = 60.0


def built_binaries() -> dict[str, Path]:
    """Where scripts/build_backends.sh puts (or put) the binaries: {"OTELCOL": ..., "JAEGER": ...}."""
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--print"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return {name: Path(path) for name, path in (line.split("=", 1) for line in out.splitlines())}


def binary(name: str) -> Path:
    """The built collector ("OTELCOL") or Jaeger ("JAEGER"); skip locally / fail in CI when missing."""
    path = built_binaries()[name]
    if not path.is_file():
        what = {"OTELCOL": "the Collector", "JAEGER": "Jaeger"}.get(name, name)
        reason = f"{what} is not built ({path}; building it needs Go)"
        missing_backend(reason, setup="bash scripts/build_backends.sh")
    return path


def _wait_healthy(process: _Process, url: str, what: str) -> None:
    """Until the health endpoint answers 200 (the process exiting or a minute passing fails the test)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.proc.poll() is not None:
                pytest.fail(f"{what} exited with {process.proc.returncode}:\n{process.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"{what} not healthy after {START_TIMEOUT_S:.0f}s:\n{process.log_tail()}")
            time.sleep(0.1)


def _value(any_value: dict[str, Any]) -> Any:
    """An OTLP JSON AnyValue as a Python value (64-bit ints travel as strings)."""
    if "arrayValue" in any_value:
        return [_value(v) for v in any_value["arrayValue"].get("values", [])]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in any_value:
            return any_value[key]
    return None


_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUSES = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _enum(value: Any, names: dict[int, str], prefix: str) -> str:
    """An OTLP JSON enum (a number or its proto name) as the SDK's name: 2, "SPAN_KIND_SERVER" -> "SERVER"."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return names[int(value)]
    return str(value).removeprefix(prefix)


def _attributes(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {a["key"]: _value(a.get("value", {})) for a in items or []}


@dataclass
class StoredSpan:
    """One span as Jaeger stored it (read back through its query API, in OTLP form)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    service: str
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    status: str
    start_ns: int


def stored_spans(result: dict[str, Any]) -> list[StoredSpan]:
    """The spans of an api/v3 answer (``{"result": {"resourceSpans": [...]}}``)."""
    out = []
    for resource_spans in result.get("resourceSpans", []):
        service = _attributes(resource_spans.get("resource", {}).get("attributes")).get("service.name", "")
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                out.append(
                    StoredSpan(
                        trace_id=span["traceId"],
                        span_id=span["spanId"],
                        parent_id=span.get("parentSpanId") or None,
                        name=span["name"],
                        kind=_enum(span.get("kind", 0), _KINDS, "SPAN_KIND_"),
                        service=str(service),
                        attributes=_attributes(span.get("attributes")),
                        events=[
                            (e["name"], _attributes(e.get("attributes"))) for e in span.get("events", [])
                        ],
                        status=_enum(span.get("status", {}).get("code", 0), _STATUSES, "STATUS_CODE_"),
                        start_ns=int(span.get("startTimeUnixNano", 0)),
                    )
                )
    return sorted(out, key=lambda s: s.start_ns)


@dataclass
class Jaeger:
    """A running Jaeger v2 (deploy/jaeger.yaml) and a reader of its query API."""

    otlp_grpc_port: int
    query_port: int
    process: _Process
    client: httpx.Client = field(repr=False)

    @property
    def otlp_grpc_address(self) -> str:
        """host:port, as a collector exporter's `endpoint` names it."""
        return f"127.0.0.1:{self.otlp_grpc_port}"

    def trace(self, trace_id: str, *, expect: int, timeout: float = 20.0) -> list[StoredSpan]:
        """The spans of one trace, polling until `expect` of them arrived (the collector batches)."""
        deadline = time.monotonic() + timeout
        spans: list[StoredSpan] = []
        while True:
            resp = self.client.get(f"/api/v3/traces/{trace_id}", params={"raw_traces": "true"})
            if resp.status_code == 200:
                spans = stored_spans(resp.json()["result"])
                if len(spans) >= expect:
                    return spans
            elif resp.status_code != 404:  # 404: none of its spans stored yet
                resp.raise_for_status()
            if time.monotonic() > deadline:
                return spans
            time.sleep(0.2)

    def spans_of(self, service: str, since_ns: int, *, limit: int = 1000) -> list[StoredSpan]:
        """The spans of the traces (up to `limit`) of `service` that started after `since_ns`: one search."""
        params: dict[str, str | int] = {
            "query.service_name": service,
            "query.start_time_min": _rfc3339(since_ns),
            "query.start_time_max": _rfc3339(time.time_ns() + 60 * 10**9),
            "query.num_traces": limit,
            "query.raw_traces": "true",
        }
        resp = self.client.get("/api/v3/traces", params=params)
        if resp.status_code == 404:  # no trace found yet
            return []
        resp.raise_for_status()
        return stored_spans(resp.json()["result"])


def _rfc3339(ns: int) -> str:
    seconds, rest = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest:09d}Z"


@contextlib.contextmanager
def running_jaeger(workdir: Path) -> Iterator[Jaeger]:
    """Jaeger v2 with deploy/jaeger.yaml, every listener moved to a free 127.0.0.1 port; stopped on exit."""
    jaeger = binary("JAEGER")
    otlp, query, query_grpc, health = free_port(), free_port(), free_port(), free_port()
    env = clean_env() | {
        "JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{otlp}",
        "JAEGER_QUERY_HTTP_ENDPOINT": f"127.0.0.1:{query}",
        "JAEGER_QUERY_GRPC_ENDPOINT": f"127.0.0.1:{query_grpc}",
        "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{health}",
    }
    process = spawn([str(jaeger), "--config", str(JAEGER_CONFIG)], env, workdir / "jaeger.log")
    client = httpx.Client(base_url=f"http://127.0.0.1:{query}", timeout=10.0)
    try:
        _wait_healthy(process, f"http://127.0.0.1:{health}/status", "Jaeger")
        yield Jaeger(otlp, query, process, client)
    finally:
        client.close()
        process.stop()


@dataclass
class Collector(OtlpServer):
    """A running collector (collector-config.yaml + deploy/collector-local.yaml + any test overlay)."""

    health_port: int = 0


def collector_argv(*overlays: Path) -> list[str]:
    """The collector command line: the shipped config, the local addresses, then test overlays."""
    configs = [CONFIG_PATH, COLLECTOR_LOCAL, *overlays]
    return [str(binary("OTELCOL")), *(f"--config={c}" for c in configs)]


def commented_block(block_start: str) -> dict[str, Any]:
    """The commented YAML block of collector-config.yaml that starts with `# {block_start}`, uncommented
    and parsed (the examples a user enables by removing the `# `)."""
    lines = CONFIG_PATH.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# {block_start}")
    indent = lines[start].index("#")
    block = []
    for line in lines[start:]:
        if not line.strip().startswith("#") or not line[indent:].startswith("# "):
            break  # (a bare `#` line ends a block too)
        block.append(line[indent + 2 :])
    data = yaml.safe_load("\n".join(block))
    assert isinstance(data, dict), block
    return data


def write_overlay(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@contextlib.contextmanager
def running_collector(workdir: Path, jaeger: Jaeger, *overlays: Path) -> Iterator[Collector]:
    """The collector exporting to `jaeger`, its listeners on free 127.0.0.1 ports; stopped on exit."""
    grpc, http, health = free_port(), free_port(), free_port()
    env = clean_env() | {
        "OTELCOL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc}",
        "OTELCOL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{http}",
        "OTELCOL_HEALTH_ENDPOINT": f"127.0.0.1:{health}",
        "JAEGER_OTLP_GRPC_ENDPOINT": jaeger.otlp_grpc_address,
    }
    process = spawn(collector_argv(*overlays), env, workdir / "collector.log")
    try:
        _wait_healthy(process, f"http://127.0.0.1:{health}/", "the collector")
        assert port_open(grpc) and port_open(http), process.log_tail()
        yield Collector(grpc, http, process, health)
    finally:
        process.stop()

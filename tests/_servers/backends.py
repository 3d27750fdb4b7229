"""Real trace backends for the export tests: Arize Phoenix and the rotel collector, on 127.0.0.1 only.

Phoenix and rotel live in their own virtualenv (scripts/setup_phoenix.sh) so their dependencies stay
out of ours. Without that venv the backend tests skip locally and FAIL under CI (CI=true).
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PHOENIX_VENV = Path(os.environ.get("OTELCHAIN_PHOENIX_VENV", ROOT / ".venv-phoenix"))
PHOENIX_PYTHON = PHOENIX_VENV / "bin" / "python"
LAUNCHER = ROOT / "scripts" / "phoenix_launcher.py"
START_TIMEOUT_S = float(os.environ.get("OTELCHAIN_PHOENIX_START_TIMEOUT", "100"))


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_backend(reason: str, setup: str = "scripts/setup_phoenix.sh") -> None:
    """Skip locally, fail under CI: a CI run must never pass without the real backend."""
    hint = f"{reason}; run {setup}"
    if _under_ci():
        pytest.fail(f"CI=true and {hint}", pytrace=False)
    pytest.skip(hint)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _descendants(pid: int) -> list[int]:
    """The pid and all its live descendants (from /proc)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in task.read_text().split())
    return out


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(ip, port) of every TCP socket in LISTEN state owned by pid or its descendants."""
    inodes: set[str] = set()
    for proc in _descendants(pid):
        for fd in Path(f"/proc/{proc}/fd").glob("*"):
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    found: set[tuple[str, int]] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                if cols[3] != "0A" or cols[9] not in inodes:  # 0A = LISTEN
                    continue
                hex_ip, hex_port = cols[1].split(":")
                raw = bytes.fromhex(hex_ip)
                # /proc stores the address as 32-bit words in host (little-endian) order.
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add((str(ipaddress.ip_address(raw)), int(hex_port, 16)))
    return found


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.x)."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


@dataclass
class _Process:
    """A server subprocess in its own session, with its log file."""

    proc: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGINT for a clean shutdown, SIGKILL after 15 s."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so a killed run leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(argv: list[str], env: dict[str, str], log: Path) -> _Process:
    """Start a server in its own session (stopped as a group), its output going to `log`."""
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    return _Process(proc, log)


def clean_env() -> dict[str, str]:
    """Our environment without OTEL_* settings, so a backend never traces itself into the test."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OTELCHAIN_"))}


@dataclass
class Phoenix:
    """A running Phoenix: OTLP endpoints and a reader for the spans it stored."""

    http_port: int
    grpc_port: int
    process: _Process
    start_seconds: float
    client: httpx.Client = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def otlp_http_endpoint(self) -> str:
        """Full OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT style)."""
        return f"{self.base_url}/v1/traces"

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def spans(self, trace_id: str, *, expect: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Spans of one trace from Phoenix's REST API, polling until `expect` arrived (ingestion is async)."""
        deadline = time.monotonic() + timeout
        data: list[dict[str, Any]] = []
        while True:
            resp = self.client.get("/v1/projects/default/spans", params={"trace_id": trace_id, "limit": 1000})
            if resp.status_code == 200:
                data = resp.json()["data"]
                if len(data) >= expect:
                    # Spans of one batch may straddle two polls: settle briefly, then re-read.
                    time.sleep(0.3)
                    again = self.client.get(
                        "/v1/projects/default/spans", params={"trace_id": trace_id, "limit": 1000}
                    ).json()["data"]
                    return list(again)
            elif resp.status_code != 404:  # 404: project "default" not created before the first span
                resp.raise_for_status()
            if time.monotonic() > deadline:
                return list(data)
            time.sleep(0.2)


def rotel_binary() -> Path | None:
    """The rotel-agent executable shipped inside the rotel wheel of the Phoenix venv."""
    found = sorted(PHOENIX_VENV.glob("lib/python*/site-packages/rotel/rotel-agent"))
    return found[0] if found else None


@dataclass
class OtlpServer:
    """A running OTLP receiver on 127.0.0.1 (gRPC and HTTP ports) started by a test."""

    grpc_port: int
    http_port: int
    process: _Process

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def otlp_http_base(self) -> str:
        """The OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT style: each signal adds its path)."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def otlp_http_endpoint(self) -> str:
        return f"{self.otlp_http_base}/v1/traces"

    def log_text(self) -> str:
        return self.process.log.read_text(errors="replace")


@dataclass
class Rotel(OtlpServer):
    """A running rotel collector on 127.0.0.1."""

    def log_text(self) -> str:
        """rotel's log so far, colour codes removed."""
        return re.sub(r"\x1b\[[0-9;]*m", "", self.process.log.read_text(errors="replace"))

    def wait_for(self, needle: str, timeout: float = 15.0) -> str:
        """The log once ``needle`` appears in it (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if needle in text or time.monotonic() > deadline:
                return text
            time.sleep(0.1)

    def wire_spans(self, trace_id: str, *, expect: int, timeout: float = 10.0) -> list[dict[str, str]]:
        """Spans of one trace as rotel received them, from its detailed debug log (Name, Kind, ...)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = []
            for block in self.log_text().split("\nSpan #")[1:]:
                fields = dict(re.findall(r"^\s+([A-Z][\w ]*?)\s*: (.*)$", block, flags=re.MULTILINE))
                if fields.get("Trace ID") == trace_id:
                    spans.append(fields)
            if len(spans) >= expect or time.monotonic() > deadline:
                return spans
            time.sleep(0.1)


@contextlib.contextmanager
def running_rotel(workdir: Path, *options: str) -> Iterator[Rotel]:
    """rotel on 127.0.0.1 with 10 ms batches, a detailed debug log (``workdir/rotel.log``) and the
    exporter and debug ``options`` given; stopped on exit."""
    binary = rotel_binary()
    if binary is None:
        missing_backend(f"rotel is not installed in {PHOENIX_VENV}")
    assert binary is not None
    grpc_port, http_port = free_port(), free_port()
    argv = [
        str(binary), "start",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
        *options,
        "--batch-timeout", "10ms",
        "--debug-log-verbosity", "detailed",
        "--pid-file", str(workdir / "rotel.pid"),
        "--log-file", str(workdir / "rotel-daemon.log"),
    ]  # fmt: skip
    process = spawn(argv, clean_env(), workdir / "rotel.log")
    try:
        deadline = time.monotonic() + 30
        while not (port_open(grpc_port) and port_open(http_port)):
            if process.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"rotel did not start:\n{process.log_tail()}")
            time.sleep(0.05)
        yield Rotel(grpc_port, http_port, process)
    finally:
        process.stop()


def run_example(name: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "LANGCHAIN_", "OPENAI_"))}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean | {"PYTHONUNBUFFERED": "1"} | env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def printed_trace_id(out: str) -> str:
    match = re.search(r"trace_id=([0-9a-f]{32})", out)
    assert match, out
    return match.group(1)

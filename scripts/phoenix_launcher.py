"""Start Arize Phoenix with its OTLP gRPC server confined to PHOENIX_HOST (default 127.0.0.1).

Run with the Python of the Phoenix virtualenv (scripts/setup_phoenix.sh), e.g.:

    PHOENIX_PORT=6006 PHOENIX_GRPC_PORT=4317 .venv-phoenix/bin/python scripts/phoenix_launcher.py

Phoenix's HTTP server honours PHOENIX_HOST, but its gRPC server binds "[::]:$PHOENIX_GRPC_PORT" (all
interfaces) and offers no setting for it, so this launcher rewrites the wildcard host of every gRPC
port grpc.aio binds in this process before handing over to Phoenix's own `serve` entry point.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import grpc.aio._server as grpc_aio_server

_WILDCARD = re.compile(r"^(?:\[::\]|0\.0\.0\.0|\*|)(:\d+)$")


def _confine(address: str) -> str:
    """`[::]:4317` -> `127.0.0.1:4317`; explicit hosts are kept."""
    host = os.environ.get("PHOENIX_HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):
        return address
    match = _WILDCARD.match(address)
    if not match:
        return address
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}{match.group(1)}"


def _patch_grpc() -> None:
    """Make grpc.aio.Server.add_(in)secure_port bind PHOENIX_HOST instead of every interface."""
    server_cls: Any = grpc_aio_server.Server
    insecure = server_cls.add_insecure_port
    secure = server_cls.add_secure_port

    def add_insecure_port(self: Any, address: str) -> int:
        return int(insecure(self, _confine(address)))

    def add_secure_port(self: Any, address: str, server_credentials: Any) -> int:
        return int(secure(self, _confine(address), server_credentials))

    server_cls.add_insecure_port = add_insecure_port
    server_cls.add_secure_port = add_secure_port


def main() -> None:
    """Patch the gRPC bind address, then run `phoenix serve` with the given arguments."""
    os.environ.setdefault("PHOENIX_HOST", "127.0.0.1")
    os.environ.setdefault("PHOENIX_TELEMETRY_ENABLED", "false")
    _patch_grpc()
    from phoenix.server.main import main as phoenix_main

    sys.argv = ["phoenix", *(sys.argv[1:] or ["serve"])]
    phoenix_main()


if __name__ == "__main__":
    main()

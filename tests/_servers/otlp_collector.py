"""A loopback OTLP/HTTP trace collector with fault modes, for the fault suite.

It decodes every ``/v1/traces`` request with the real protobuf schema and keeps the spans and
the raw bytes (for the secret scan). Modes: ``ok``; ``503`` (answers Service Unavailable);
``close`` (closes the connection without an answer); ``hang`` (answers nothing until
``release()``). Requests larger than ``max_body`` get 413, as a collector with a message size
limit refuses them. Binds 127.0.0.1 only; stopped by its test (a context manager).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = ["OtlpCollector"]


class OtlpCollector:
    """``with OtlpCollector(mode="503") as c: ... c.endpoint``."""

    def __init__(
        self, mode: str = "ok", *, max_body: int = 4 * 1024 * 1024, port: int = 0, keep: bool = True
    ) -> None:
        self.mode = mode
        self.port = port
        self.keep = keep  # False: count spans only (long soaks)
        self.received = 0
        self.max_body = max_body
        self.spans: list[Any] = []
        self.bodies: list[bytes] = []
        self.requests = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def release(self) -> None:
        """Let hanging requests finish (with 503)."""
        self._release.set()

    def span_names(self) -> list[str]:
        with self._lock:
            return [s.name for s in self.spans]

    def start(self) -> OtlpCollector:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with collector._lock:
                    collector.requests += 1
                mode = collector.mode
                if mode == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "hang":
                    collector._release.wait()
                    mode = "503"
                if mode == "503":
                    self._answer(503, b"")
                    return
                if length > collector.max_body:
                    with collector._lock:
                        collector.refused += 1
                    self._answer(413, b"")
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with collector._lock:
                    for rs in request.resource_spans:
                        for ss in rs.scope_spans:
                            collector.received += len(ss.spans)
                            if collector.keep:
                                collector.spans.extend(ss.spans)
                    if collector.keep:
                        collector.bodies.append(body)
                self._answer(200, ExportTraceServiceResponse().SerializeToString())

            def _answer(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (it exited)
                    self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> OtlpCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

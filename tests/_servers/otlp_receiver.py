"""A trace backend on 127.0.0.1 for tests: real OTLP/HTTP (protobuf) and Zipkin v2 JSON endpoints
that decode what real exporters send and keep every span with its service name.

``with OtlpReceiver() as backend:`` then point exporters at ``backend.endpoint`` (the OTLP base
URL; ``/v1/traces`` is served) or ``backend.zipkin_url``; ``backend.wait_for(n)`` blocks until n
spans arrived (or its timeout passes) and returns them.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

__all__ = ["OtlpReceiver", "ReceivedSpan"]

_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


@dataclass
class ReceivedSpan:
    """One span as the backend received it (ids in lowercase hex, as the W3C header has them)."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: str
    service: str
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = ""


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class OtlpReceiver:
    """OTLP/HTTP and Zipkin receiver on an ephemeral 127.0.0.1 port, in a background thread."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests: list[dict[str, str]] = []  # headers of every export request
        self.zipkin: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver._receive(self.path, body, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(200 if self.path == "/v1/traces" else 202)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def zipkin_url(self) -> str:
        return f"{self.endpoint}/api/v2/spans"

    def _receive(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        with self._changed:
            self.requests.append(headers)
            if path == "/api/v2/spans":
                self.zipkin.extend(json.loads(body))
            elif path == "/v1/traces":
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                for rs in request.resource_spans:
                    resource = {a.key: _value(a.value) for a in rs.resource.attributes}
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            self.spans.append(
                                ReceivedSpan(
                                    name=s.name,
                                    trace_id=s.trace_id.hex(),
                                    span_id=s.span_id.hex(),
                                    parent_id=s.parent_span_id.hex() or None,
                                    kind=_KINDS.get(s.kind, str(s.kind)),
                                    service=str(resource.get("service.name")),
                                    attributes={a.key: _value(a.value) for a in s.attributes},
                                    status=str(s.status.code),
                                )
                            )
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[ReceivedSpan]:
        """The spans received once at least ``count`` arrived (or when ``timeout`` passed)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.spans) + len(self.zipkin) >= count, timeout)
            return list(self.spans)

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

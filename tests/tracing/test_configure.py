"""`configure()`: a TracerProvider from the standard env vars, exporting over real OTLP to
receivers on 127.0.0.1 (HTTP and gRPC), the console tree by default, never breaking the app."""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tracing import OpenTelemetryCallbackHandler, configure, instrument, uninstrument
from otelchain.tracing._configure import _shutdown_within

OTEL_VARS = (
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_RESOURCE_ATTRIBUTES",
)


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in OTEL_VARS:
        monkeypatch.delenv(var, raising=False)


def run_chain(handler: OpenTelemetryCallbackHandler | None = None) -> None:
    chain = LLMChain(llm=FakeListLLM(["3"]), prompt=PromptTemplate.from_template("1 + {n} ="))
    chain.call({"n": 2}, callbacks=[handler] if handler else None)


@dataclass
class Received:
    """What an OTLP receiver got: span names, service names and request headers."""

    spans: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest, headers: dict[str, str]) -> None:
        self.headers.append(headers)
        for rs in request.resource_spans:
            for attr in rs.resource.attributes:
                if attr.key == "service.name":
                    self.services.append(attr.value.string_value)
            for ss in rs.scope_spans:
                self.spans.extend(s.name for s in ss.spans)


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = trace_service_pb2.ExportTraceServiceRequest()
            request.ParseFromString(body)
            received.add(request, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def grpc_receiver() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Service(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: Any, context: Any) -> Any:
            received.add(request, dict(context.invocation_metadata()))
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"http://127.0.0.1:{port}", received
    server.stop(grace=None).wait(5)


def test_otlp_http_from_env(
    monkeypatch: pytest.MonkeyPatch, http_receiver: tuple[str, Received], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint, received = http_receiver
    monkeypatch.setenv("OTEL_SERVICE_NAME", "joke-service")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=topsecret-123")
    caplog.set_level(logging.DEBUG)
    provider = configure(set_global=False)
    run_chain(OpenTelemetryCallbackHandler(provider))
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert sorted(received.spans) == ["llm_chain", "text_completion fake-list"]
    assert set(received.services) == {"joke-service"}
    assert received.headers[0]["x-api-key"] == "topsecret-123"
    assert "topsecret-123" not in caplog.text


def test_otlp_grpc_from_arguments(grpc_receiver: tuple[str, Received]) -> None:
    endpoint, received = grpc_receiver
    provider = configure(
        exporter="otlp",
        endpoint=endpoint,
        protocol="grpc",
        headers={"x-team": "tracing"},
        service_name="grpc-service",
        set_global=False,
    )
    handler = instrument(provider)
    try:
        run_chain()
    finally:
        uninstrument()
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert sorted(received.spans) == ["llm_chain", "text_completion fake-list"]
    assert received.services == ["grpc-service"]
    assert received.headers[0]["x-team"] == "tracing"
    assert handler.error_counts == {}


def test_console_tree_is_the_default_without_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    provider = configure(set_global=False)
    run_chain(OpenTelemetryCallbackHandler(provider))
    provider.force_flush(5_000)
    provider.shutdown()
    out = capsys.readouterr().out
    assert "└─ llm_chain" in out and "   └─ text_completion fake-list" in out


def test_exporter_none_exports_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    provider = configure(set_global=False)
    handler = OpenTelemetryCallbackHandler(provider)
    run_chain(handler)
    provider.shutdown()
    assert capsys.readouterr().out == ""


def test_collector_down_never_breaks_the_app_and_exit_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = configure(
        exporter="otlp",
        endpoint=f"http://127.0.0.1:{port}",
        timeout=2,
        set_global=False,
        schedule_delay_millis=50,
    )
    handler = OpenTelemetryCallbackHandler(provider)
    for _ in range(5):
        run_chain(handler)  # runs succeed while the exporter fails in the background
    start = time.monotonic()
    _shutdown_within(provider, 1.0)
    assert time.monotonic() - start < 2.5
    assert handler.error_counts == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exporter": "jaeger"}, "OTEL_TRACES_EXPORTER"),
        ({"exporter": "otlp", "protocol": "thrift"}, "PROTOCOL"),
    ],
)
def test_bad_settings_give_a_clear_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        configure(set_global=False, **kwargs)

"""`configure()`: a TracerProvider from the standard env vars, exporting over real OTLP to
receivers on 127.0.0.1 (HTTP and gRPC), the console tree by default, never breaking the app."""

from __future__ import annotations

import http.server
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tracing import OpenTelemetryCallbackHandler, configure, instrument, uninstrument
from otelchain.tracing._setup.delivery import flush_at_exit
from tests._servers.get_server import serving

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

    with serving(Handler) as url:
        yield url, received


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
    assert sorted(received.spans) == ["invoke_workflow llm_chain", "text_completion fake-list"]
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
    assert sorted(received.spans) == ["invoke_workflow llm_chain", "text_completion fake-list"]
    assert received.services == ["grpc-service"]
    assert received.headers[0]["x-team"] == "tracing"
    assert handler.error_counts == {}


def test_console_tree_is_the_default_without_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    provider = configure(set_global=False)
    run_chain(OpenTelemetryCallbackHandler(provider))
    provider.force_flush(5_000)
    provider.shutdown()
    out = capsys.readouterr().out
    assert "└── 1:chain:llm_chain" in out and "    └── 2:llm:fake-list" in out


def test_exporter_none_exports_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    provider = configure(set_global=False)
    handler = OpenTelemetryCallbackHandler(provider)
    run_chain(handler)
    provider.shutdown()
    assert capsys.readouterr().out == ""


def test_collector_down_never_breaks_the_app(caplog: pytest.LogCaptureFixture) -> None:
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
    flush_at_exit(provider, timeout=1.0)  # the exit hook (its bound is tested below)
    assert handler.error_counts == {}


class StuckExporter(SpanExporter):
    """An exporter whose export blocks until the test releases it (a collector that never answers)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported = threading.Event()
        self.shut_down = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait()
        self.exported.set()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.shut_down.set()


def test_exit_flush_gives_up_at_its_bound(caplog: pytest.LogCaptureFixture) -> None:
    """The exit hook returns while the export is still stuck, and says how many spans it dropped."""
    exporter = StuckExporter()
    provider = configure(exporter=exporter, set_global=False, schedule_delay_millis=60_000)
    run_chain(OpenTelemetryCallbackHandler(provider))
    try:
        # returns: were it to wait for the export, it would hang
        assert not flush_at_exit(provider, timeout=0.2)
        assert not exporter.exported.is_set()
        lines = [r.getMessage() for r in caplog.records if "exit flush" in r.getMessage()]
        assert lines == ["otelchain: exit flush stopped after 0.2s: 2 spans dropped for StuckExporter"]
    finally:
        exporter.release.set()
        assert exporter.shut_down.wait(30), "the provider did not shut down once the export went through"
    assert exporter.exported.is_set()


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


# --- the SDK's exporters, lists, a provider that is already global ---------------------------


@pytest.fixture
def fresh_global(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No global TracerProvider set yet (the API allows one per process: reset it around the test)."""
    from opentelemetry.util._once import Once

    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    yield


def processors(provider: TracerProvider) -> list[Any]:
    return list(provider._active_span_processor._span_processors)


def exporter_types(provider: TracerProvider) -> list[str]:
    # configure() wraps each exporter to count its failures (HealthExporter.exporter is the real one)
    return [
        type(getattr(p.span_exporter, "exporter", p.span_exporter)).__name__
        for p in processors(provider)
        if hasattr(p, "span_exporter")
    ]


def quiet_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("name", ["otlp", "otlp_proto_http"])
def test_otlp_names_export_over_http(
    name: str, monkeypatch: pytest.MonkeyPatch, http_receiver: tuple[str, Received]
) -> None:
    endpoint, received = http_receiver
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", name)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)  # not port 4317: HTTP for "otlp"
    provider = configure(set_global=False)
    run_chain(OpenTelemetryCallbackHandler(provider))
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert sorted(received.spans) == ["invoke_workflow llm_chain", "text_completion fake-list"]


def test_otlp_proto_grpc_name(monkeypatch: pytest.MonkeyPatch, grpc_receiver: tuple[str, Received]) -> None:
    endpoint, received = grpc_receiver
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp_proto_grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    provider = configure(set_global=False)
    run_chain(OpenTelemetryCallbackHandler(provider))
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert sorted(received.spans) == ["invoke_workflow llm_chain", "text_completion fake-list"]


def test_any_entry_point_exporter_zipkin(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests._servers.otlp_receiver import OtlpReceiver

    with OtlpReceiver() as backend:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin_json")
        monkeypatch.setenv("OTEL_EXPORTER_ZIPKIN_ENDPOINT", backend.zipkin_url)
        provider = configure(service_name="zipkin-service", set_global=False)
        run_chain(OpenTelemetryCallbackHandler(provider))
        assert provider.force_flush(10_000)
        provider.shutdown()
        backend.wait_for(2)
    assert sorted(s["name"] for s in backend.zipkin) == [
        "invoke_workflow llm_chain",
        "text_completion fake-list",
    ]
    assert {s["localEndpoint"]["serviceName"] for s in backend.zipkin} == {"zipkin-service"}


def test_a_list_uses_every_exporter(
    monkeypatch: pytest.MonkeyPatch, http_receiver: tuple[str, Received], capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint, received = http_receiver
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp, console")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    provider = configure(set_global=False)
    assert exporter_types(provider) == ["OTLPSpanExporter", "ConsoleSpanTreeExporter"]
    run_chain(OpenTelemetryCallbackHandler(provider))
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert sorted(received.spans) == ["invoke_workflow llm_chain", "text_completion fake-list"]
    assert "└── 1:chain:llm_chain" in capsys.readouterr().out
    # The argument takes lists too, names and exporter objects mixed.
    extra = InMemorySpanExporter()
    both = configure(exporter=["console", extra], set_global=False)
    assert exporter_types(both) == ["InMemorySpanExporter", "ConsoleSpanTreeExporter"]
    both.shutdown()


def test_a_global_sdk_provider_is_reused_adding_nothing_and_warning_never(
    fresh_global: None, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    exporter = InMemorySpanExporter()
    preset = TracerProvider(shutdown_on_exit=False)
    preset.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(preset)
    before = processors(preset)

    assert configure(service_name="my-app") is preset
    assert configure() is preset
    assert processors(preset) == before  # nothing added, however often
    assert quiet_log(caplog) == []
    instrument(configure(service_name="my-app"))
    try:
        run_chain()
    finally:
        uninstrument()
    assert sorted(s.name for s in exporter.get_finished_spans()) == [
        "invoke_workflow llm_chain",
        "text_completion fake-list",
    ]
    assert capsys.readouterr().out == ""  # no console exporter slipped in
    preset.shutdown()


def test_configure_twice_builds_one_provider(fresh_global: None, caplog: pytest.LogCaptureFixture) -> None:
    first = configure(exporter="none")
    assert trace.get_tracer_provider() is first
    assert configure() is first and configure(service_name="other") is first
    assert processors(first) == []
    assert quiet_log(caplog) == []
    first.shutdown()


def test_a_bare_global_provider_gets_the_default_exporter_once(fresh_global: None) -> None:
    bare = TracerProvider(shutdown_on_exit=False)
    trace.set_tracer_provider(bare)
    assert configure() is bare
    assert configure() is bare
    assert exporter_types(bare) == ["ConsoleSpanTreeExporter"]  # the provider exported nowhere
    # An exporter asked for in code is added to the global provider, once.
    extra = InMemorySpanExporter()
    configure(exporter=extra)
    configure(exporter=extra)
    assert exporter_types(bare) == ["ConsoleSpanTreeExporter", "InMemorySpanExporter"]
    bare.shutdown()


# --- configuration errors: one clear message, a safe fallback, never an error per call ------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OTEL_TRACES_EXPORTER", "jaegerr", "not an installed trace exporter"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url", "not a valid OTLP endpoint"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:99999", "not a valid OTLP endpoint"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector:4317", "http:// or https://"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318", "http:// or https://"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift", "must be one of"),
    ],
)
def test_bad_environment_is_reported_once_then_falls_back(
    variable: str,
    value: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    http_receiver: tuple[str, Received],
) -> None:
    from otelchain import _options

    monkeypatch.setattr(_options, "_reported", set())
    monkeypatch.setenv(variable, value)
    if variable == "OTEL_EXPORTER_OTLP_PROTOCOL":  # falls back to HTTP, which the receiver speaks
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver[0])
    caplog.set_level(logging.DEBUG)
    providers = [configure(set_global=False) for _ in range(3)]
    handler = OpenTelemetryCallbackHandler(providers[0])
    for _ in range(20):
        run_chain(handler)  # never an error per call
    for provider in providers:
        provider.shutdown()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1, errors
    assert variable in errors[0] and repr(value) in errors[0] and message in errors[0]
    assert handler.error_counts == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoint": "not a url"}, "not a valid OTLP endpoint"),
        ({"endpoint": "http://127.0.0.1:99999"}, "not a valid OTLP endpoint"),
        ({"endpoint": "ftp://collector:4317"}, "http:// or https://"),
        ({"exporter": "otlp,bogus"}, "'bogus' is not an installed trace exporter"),
        ({"exporter": ""}, "exporter is empty: name at least one .*console.*none"),
        ({"exporter": " , "}, "exporter is empty"),
        ({"exporter": []}, "exporter is empty"),
        ({"exporter": ["console", 3]}, "exporter .*names or SpanExporter objects.*int"),
        ({"exporter": 3}, "exporter .*names or SpanExporter objects.*int"),
        ({"flush_timeout": "5"}, r"flush_timeout must be a number of seconds >= 0, got '5'"),
        ({"flush_timeout": float("nan")}, "flush_timeout must be a number of seconds >= 0, got nan"),
        ({"flush_timeout": float("inf")}, "flush_timeout must be a number of seconds >= 0, got inf"),
        ({"flush_timeout": -1}, "flush_timeout must be a number of seconds >= 0, got -1"),
        ({"flush_timeout": True}, "flush_timeout must be a number of seconds >= 0, got True"),
        ({"timeout": "10"}, "timeout must be a number of seconds > 0"),
        ({"timeout": 0}, "timeout must be a number of seconds > 0"),
        ({"headers": 3}, "headers must be a mapping .* or a 'name=value,name=value' string, got int"),
        ({"headers": "x-team: tracing"}, r"headers: 'x-team=\*\*\*' is not a name=value header"),
        ({"headers": {"a": 1}}, "headers must map names to strings"),
        ({"cost": "no"}, "cost must be True, False or None, got 'no'"),
        ({"service_name": 3}, "service_name must be a string, got int"),
    ],
)
def test_bad_arguments_are_rejected_at_configure(kwargs: dict[str, Any], message: str) -> None:
    """Up front, before anything changes, naming the argument (a flush_timeout of "5" used to
    fail only in the exit hook, losing every span)."""
    from otelchain.tracing import ConfigurationError

    with pytest.raises(ConfigurationError, match=message) as caught:
        configure(set_global=False, **kwargs)
    assert len(caught.traceback) <= 6, caught.traceback  # raised up front, not deep inside


def test_an_unknown_keyword_is_a_type_error_naming_configure() -> None:
    with pytest.raises(
        TypeError, match=r"configure\(\) got an unexpected keyword argument 'bogus_kw'.*max_queue_size"
    ):
        configure(set_global=False, bogus_kw=1)


def test_headers_take_the_variables_string_form(http_receiver: tuple[str, Received]) -> None:
    """``headers="a=b,c=d"``, as ``OTEL_EXPORTER_OTLP_HEADERS`` spells them."""
    endpoint, received = http_receiver
    provider = configure(endpoint=endpoint, headers="x-team=tracing, x-env = prod", set_global=False)
    run_chain(OpenTelemetryCallbackHandler(provider))
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert received.headers[0]["x-team"] == "tracing" and received.headers[0]["x-env"] == "prod"


def test_a_secret_in_a_malformed_header_argument_is_masked() -> None:
    from otelchain.tracing import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        configure(headers="Authorization: Bearer sk-live-SECRET42", set_global=False)
    assert "SECRET42" not in str(caught.value) and "Authorization=***" in str(caught.value)


def test_endpoint_credentials_are_masked_in_errors() -> None:
    from otelchain.tracing import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        configure(endpoint="ftp://user:hunter2@collector:4317", set_global=False)
    assert "hunter2" not in str(caught.value) and "***@collector" in str(caught.value)


def test_malformed_headers_are_never_printed_in_full(
    monkeypatch: pytest.MonkeyPatch,
    http_receiver: tuple[str, Received],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from otelchain import _options

    monkeypatch.setattr(_options, "_reported", set())
    endpoint, received = http_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=tracing,Authorization: Bearer sk-live-SECRET42")
    caplog.set_level(logging.DEBUG)
    provider = configure(set_global=False)
    run_chain(OpenTelemetryCallbackHandler(provider))
    assert provider.force_flush(10_000)
    provider.shutdown()
    # The SDK's parser, reached directly, masks too.
    from opentelemetry.util.re import parse_env_headers

    parse_env_headers("Authorization: Bearer sk-live-SECRET42", liberal=True)
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err
    assert "SECRET42" not in everything
    problems = [r.getMessage() for r in caplog.records if "OTEL_EXPORTER_OTLP_HEADERS" in r.getMessage()]
    assert len(problems) == 1 and "Authorization=***" in problems[0]
    assert received.headers[0]["x-team"] == "tracing"  # the good entry still goes out


def env_hook(value: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = (
        "from otelchain.chains import LLMChain\n"
        "from otelchain.llms import FakeListLLM\n"
        "from otelchain.prompts import PromptTemplate\n"
        "chain = LLMChain(llm=FakeListLLM(['3']), prompt=PromptTemplate.from_template('1 + {n} ='))\n"
        "for _ in range(100):\n"
        "    chain.call({'n': 2})\n"
        "from otelchain.tracing import instrumented_handler\n"
        "print('instrumented', instrumented_handler() is not None)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "LANGCHAIN_"))}
    return subprocess.run(
        [sys.executable, "-c", script],
        env=clean | {"OTELCHAIN_TRACING": value} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_otelchain_tracing_garbage_warns_once() -> None:
    proc = env_hook("treu")
    assert proc.returncode == 0, proc.stderr
    assert "instrumented False" in proc.stdout
    assert proc.stderr.count("OTELCHAIN_TRACING='treu' is not a boolean") == 1, proc.stderr


def test_otelchain_tracing_with_a_bad_exporter_says_so_once_and_runs_cleanly() -> None:
    proc = env_hook("true", OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT="ftp://collector:4317")
    assert proc.returncode == 0, proc.stderr
    assert "instrumented True" in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr  # one message for 100 runs
    assert "OTEL_EXPORTER_OTLP_ENDPOINT='ftp://collector:4317'" in lines[0]


def test_help_names_no_private_module_and_only_installed_exporters() -> None:
    from importlib.metadata import entry_points

    doc = configure.__doc__ or ""
    assert "._" not in doc  # nothing private to look up
    installed = {e.name for e in entry_points(group="opentelemetry_traces_exporter")}
    named = {"otlp_proto_http", "zipkin_json"}
    assert named <= installed and all(f"``{n}``" in doc for n in named)
    assert "``zipkin``" not in doc

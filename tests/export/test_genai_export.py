"""GenAI / OpenInference attributes and GenAI metrics through real OTLP exporters.

A chat call with tools goes to Phoenix on loopback: Phoenix must show the tool call's arguments and
the invocation parameters. Metrics go over OTLP to a rotel collector started with its metrics
debug log, and are read back from that log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otelchain.tracing import OpenTelemetryCallbackHandler, configure
from otelchain.tracing._setup.metrics import configure_metrics
from tests._servers.backends import (
    Phoenix,
    Rotel,
    running_rotel,
)
from tests._servers.openai_server import OpenAIServer
from tests.helpers import scenarios as S


def _attr(attributes: dict[str, Any], path: str) -> Any:
    """An attribute of a span as Phoenix's REST API returns it (flat dotted keys)."""
    assert path in attributes, f"{path} not in {sorted(attributes)}"
    return attributes[path]


def test_phoenix_shows_tool_call_arguments_and_invocation_parameters(
    phoenix: Phoenix, openai_server: OpenAIServer
) -> None:
    provider = configure(
        service_name="otelchain-e2e-genai",
        exporter="otlp",
        endpoint=phoenix.otlp_http_endpoint,
        protocol="http/protobuf",
        set_global=False,
        schedule_delay_millis=50,
    )
    try:
        message = S.chat_with_tools(openai_server, OpenTelemetryCallbackHandler(provider))
    finally:
        provider.force_flush(5000)
        provider.shutdown()
    assert message.run_info is not None
    (span,) = phoenix.spans(message.run_info.trace_id, expect=1)
    assert span["span_kind"] == "LLM"
    a = span["attributes"]
    args = _attr(a, "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments")
    assert json.loads(args) == {"city": "Paris"}
    assert _attr(a, "llm.output_messages.0.message.tool_calls.0.tool_call.function.name") == "get_weather"
    params = _attr(a, "llm.invocation_parameters")
    params = json.loads(params) if isinstance(params, str) else params
    # the default writes gen_ai.request.* once; Phoenix derives its invocation parameters from them
    assert params["temperature"] == 0.3 and _attr(a, "llm.model_name") == "gpt-4o-mini"
    assert _attr(a, "llm.provider") == "openai" and _attr(a, "llm.finish_reason") == "tool_calls"
    assert json.loads(_attr(a, "gen_ai.output.messages"))[0]["parts"][0]["arguments"] == {"city": "Paris"}
    assert S.API_KEY not in json.dumps(span)


@pytest.fixture
def metrics_rotel(tmp_path: Path) -> Iterator[Rotel]:
    """rotel on 127.0.0.1 logging every metric it receives (detailed debug log), exporting nowhere."""
    with running_rotel(tmp_path, "--exporter", "blackhole", "--debug-log", "metrics") as rotel:
        yield rotel


def test_metrics_reach_a_collector_over_otlp(
    metrics_rotel: Rotel, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = metrics_rotel.otlp_http_base
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "60000")  # exported by the explicit flush below
    meters = configure_metrics(endpoint=endpoint, protocol="http/protobuf", set_global=False)
    assert isinstance(meters, MeterProvider)
    tracer = configure(exporter="none", set_global=False)
    handler = OpenTelemetryCallbackHandler(tracer, meter_provider=meters)
    S.chat_with_tools(openai_server, handler)
    S.chat_streaming(openai_server, handler)
    assert meters.force_flush(10_000)
    text = metrics_rotel.wait_for("gen_ai.client.operation.time_per_output_chunk")
    meters.shutdown()
    tracer.shutdown()
    for name in (
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.time_to_first_chunk",
        "gen_ai.client.operation.time_per_output_chunk",
    ):
        assert name in text, f"{name} not in rotel's debug log:\n{text[-3000:]}"
    for value in (
        "gen_ai.operation.name",
        "chat",
        "gen_ai.provider.name",
        "openai",
        "gen_ai.token.type",
        "served-1",
    ):
        assert value in text
    assert "Weather in Paris" not in text and "otelchain.run_id" not in text  # no content, no run ids


def test_configure_sets_up_metrics_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_METRICS_EXPORTER",
    ):
        monkeypatch.delenv(name, raising=False)
    assert configure_metrics(set_global=False) is None  # no endpoint: off
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    assert configure_metrics(set_global=False) is None  # off with none
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
    provider = configure_metrics(set_global=False)
    assert isinstance(provider, MeterProvider)
    provider.shutdown(timeout_millis=100)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus-please")
    with pytest.raises(ValueError):
        configure_metrics(set_global=False)


def test_configure_reports_a_bad_metrics_variable_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry import metrics

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "statsd-please")
    before = metrics.get_meter_provider()
    for _ in range(3):
        provider = configure(exporter="none", set_global=False)
        provider.shutdown()
    errors = [r for r in caplog.records if "OTEL_METRICS_EXPORTER" in r.getMessage()]
    assert len(errors) == 1 and "metrics are not exported" in errors[0].getMessage()
    assert metrics.get_meter_provider() is before  # nothing was set up


def test_metrics_go_to_the_metrics_path_of_a_traces_url() -> None:
    """configure(endpoint=".../v1/traces") sends metrics to ".../v1/metrics", not under the traces path."""
    from otelchain.tracing._setup import metrics as _metrics

    exporter = _metrics._otlp_exporter("http://127.0.0.1:4318/v1/traces", "http/protobuf", None, 1)
    assert exporter._endpoint == "http://127.0.0.1:4318/v1/metrics"
    exporter = _metrics._otlp_exporter("http://127.0.0.1:4318", "http/protobuf", None, 1)
    assert exporter._endpoint == "http://127.0.0.1:4318/v1/metrics"

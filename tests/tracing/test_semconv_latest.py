"""OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental: where the newest GenAI conventions
rename what otelchain emits, the new names replace the old ones (and only then)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests._servers.openai_server import OpenAIServer, Reply
from tests.helpers import LC_API_KEY, make_traced

CACHE = {
    "prompt_tokens": 100,
    "completion_tokens": 5,
    "prompt_tokens_details": {"cached_tokens": 60},
}


def _run(server: OpenAIServer, **reply: Any) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """One streamed chat call with the usage ``reply`` adds: its span attributes and its metric
    points (attributes per point) by instrument name."""
    from langchain_core.messages import AIMessage
    from langchain_openai import ChatOpenAI

    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    traced = make_traced(meter_provider=meters)
    server.add(Reply("one two three", **reply))
    model = ChatOpenAI(
        model="gpt-4o-mini",
        api_key=LC_API_KEY,
        base_url=server.base_url,
        streaming=True,
        stream_usage=True,
        max_retries=0,
    )
    message = model.invoke("hi", config={"callbacks": [traced.handler]})
    assert isinstance(message, AIMessage)
    (span,) = traced.spans
    data = reader.get_metrics_data()
    points: dict[str, list[dict[str, Any]]] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points.setdefault(metric.name, []).extend(
                    dict(p.attributes or {}) for p in metric.data.data_points
                )
    traced.provider.shutdown()
    meters.shutdown()
    return dict(span.attributes or {}), points


def test_default_names(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    attrs, points = _run(openai_server, usage_extra={**CACHE, "prompt_tokens_details": {"cached_tokens": 60}})
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 60
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"} <= set(points)
    assert "gen_ai.client.operation.time_to_first_chunk" in points
    assert not [name for name in points if name.startswith("gen_ai.client.inference.")]
    assert {p["gen_ai.token.type"] for p in points["gen_ai.client.token.usage"]} == {"input", "output"}


def test_latest_experimental_names(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai_latest_experimental")
    attrs, points = _run(openai_server, usage_extra=CACHE)
    assert attrs["gen_ai.usage.input_tokens"] == 100 and attrs["gen_ai.usage.cache_read.input_tokens"] == 60
    renamed = {
        "gen_ai.client.inference.duration",
        "gen_ai.client.inference.usage.input_tokens",
        "gen_ai.client.inference.usage.output_tokens",
        "gen_ai.client.inference.time_to_first_chunk",
        "gen_ai.client.inference.time_per_output_chunk",
    }
    assert renamed <= set(points), sorted(points)
    for old in (
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.duration",
        "gen_ai.client.operation.time_to_first_chunk",
        "gen_ai.client.operation.time_per_output_chunk",
    ):
        assert old not in points
    for name in ("gen_ai.client.inference.usage.input_tokens", "gen_ai.client.inference.usage.output_tokens"):
        assert all("gen_ai.token.type" not in p for p in points[name])


def test_latest_experimental_renames_the_cache_write_count(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = {
        "input_tokens": 100,
        "output_tokens": 5,
        "total_tokens": 105,
        "input_token_details": {"cache_creation": 40},
    }
    monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    before = _usage_attrs(usage)
    assert before["gen_ai.usage.cache_creation.input_tokens"] == 40
    assert "gen_ai.usage.cache_write.input_tokens" not in before
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    after = _usage_attrs(usage)
    assert after["gen_ai.usage.cache_write.input_tokens"] == 40
    assert "gen_ai.usage.cache_creation.input_tokens" not in after


def _usage_attrs(usage: dict[str, Any]) -> dict[str, Any]:
    """A fake chat model's span whose message carries LangChain usage metadata ``usage``."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    traced = make_traced()
    model = GenericFakeChatModel(messages=iter([AIMessage("ok", usage_metadata=usage)]))  # type: ignore[arg-type]
    model.invoke("hi", config={"callbacks": [traced.handler]})
    (span,) = traced.spans
    traced.provider.shutdown()
    return dict(span.attributes or {})

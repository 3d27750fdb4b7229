"""Cost on every priced model call, from its token counts and genai-prices' price table: on the
inference span (amount, currency, source) and in the cost metric; none for an unknown model or
provider; the provider's own cost when the response carries one; off with a switch."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from otelchain.tracing import configure
from otelchain.tracing._conventions.cost import set_cost_default
from tests._servers.openai_server import OpenAIServer, Reply
from tests.helpers import LC_API_KEY, Traced, histogram_points, make_traced

pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="genai-prices needs Python 3.11+")

COST_KEYS = ("gen_ai.usage.cost.amount", "gen_ai.usage.cost.currency", "gen_ai.usage.cost.source")


class Metered:
    def __init__(self, **options: Any) -> None:
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)
        self.traced: Traced = make_traced(meter_provider=self.meters, **options)

    def cost_points(self) -> list[HistogramDataPoint]:
        return histogram_points(self.reader, "gen_ai.client.operation.cost")

    def chat(self, server: OpenAIServer, requested: str, **reply: Any) -> dict[str, Any]:
        from langchain_openai import ChatOpenAI

        server.add(Reply("The answer is four.", **reply))
        llm = ChatOpenAI(model=requested, api_key=LC_API_KEY, base_url=server.base_url, max_retries=0)
        llm.invoke("What is two plus two?", config={"callbacks": [self.traced.handler]})
        (span,) = [s for s in self.traced.spans if s.name.startswith("chat ")]
        return dict(span.attributes or {})


@pytest.fixture
def metered(monkeypatch: pytest.MonkeyPatch) -> Iterator[Metered]:
    monkeypatch.delenv("OTELCHAIN_COST", raising=False)
    m = Metered()
    yield m
    assert m.traced.handler.error_counts == {}
    m.traced.provider.shutdown()
    m.meters.shutdown()


def _priced(model: str, **usage: int) -> float:
    from genai_prices import Usage, calc_price

    return float(calc_price(Usage(**usage), model, provider_id="openai").total_price)


def test_priced_model_call_has_its_cost(metered: Metered, openai_server: OpenAIServer) -> None:
    a = metered.chat(openai_server, "gpt-4o-mini", model="gpt-4o-mini-2024-07-18")
    tokens = {
        "input_tokens": a["gen_ai.usage.input_tokens"],
        "output_tokens": a["gen_ai.usage.output_tokens"],
    }
    assert tokens == {"input_tokens": 5, "output_tokens": 4}
    assert isinstance(a["gen_ai.usage.cost.amount"], float)
    assert a["gen_ai.usage.cost.amount"] == pytest.approx(_priced("gpt-4o-mini", **tokens))
    assert a["gen_ai.usage.cost.amount"] > 0
    assert a["gen_ai.usage.cost.currency"] == "USD" and a["gen_ai.usage.cost.source"] == "local"
    (point,) = metered.cost_points()
    assert point.count == 1 and point.sum == pytest.approx(a["gen_ai.usage.cost.amount"])
    attrs = dict(point.attributes or {})
    assert attrs["gen_ai.usage.cost.currency"] == "USD" and attrs["gen_ai.usage.cost.source"] == "local"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini" and attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.operation.name"] == "chat"


def test_cached_and_reasoning_tokens_are_priced_as_such(
    metered: Metered, openai_server: OpenAIServer
) -> None:
    details = {
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "prompt_tokens_details": {"cached_tokens": 800},
        "completion_tokens_details": {"reasoning_tokens": 300},
    }
    a = metered.chat(openai_server, "o3-mini", model="o3-mini-2025-01-31", usage_extra=details)
    assert a["gen_ai.usage.cache_read.input_tokens"] == 800
    expected = _priced(
        "o3-mini", input_tokens=1000, output_tokens=500, cache_read_tokens=800, output_reasoning_tokens=300
    )
    assert a["gen_ai.usage.cost.amount"] == pytest.approx(expected)
    assert a["gen_ai.usage.cost.amount"] < _priced("o3-mini", input_tokens=1000, output_tokens=500)


def test_unknown_model_gets_no_cost(metered: Metered, openai_server: OpenAIServer) -> None:
    a = metered.chat(openai_server, "test-model-0001")
    assert a["gen_ai.usage.input_tokens"] == 5
    assert not [k for k in a if k.startswith("gen_ai.usage.cost")]
    assert metered.cost_points() == []


def test_a_reported_but_unknown_response_model_is_not_priced_as_the_requested_one(
    metered: Metered, openai_server: OpenAIServer
) -> None:
    a = metered.chat(openai_server, "gpt-4o-mini", model="someone-elses-model")
    assert not [k for k in a if k.startswith("gen_ai.usage.cost")]


def test_unknown_provider_gets_no_cost(metered: Metered) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    FakeListChatModel(responses=["x"]).invoke("hi", config={"callbacks": [metered.traced.handler]})
    (span,) = metered.traced.spans
    assert not [k for k in (span.attributes or {}) if k.startswith("gen_ai.usage.cost")]


def test_the_providers_own_cost_wins(metered: Metered, openai_server: OpenAIServer) -> None:
    a = metered.chat(openai_server, "test-model-0001", usage_extra={"cost": 0.0123})
    assert a["gen_ai.usage.cost.amount"] == 0.0123
    assert a["gen_ai.usage.cost.source"] == "provider"
    (point,) = metered.cost_points()
    assert dict(point.attributes or {})["gen_ai.usage.cost.source"] == "provider"


def test_only_inference_spans_carry_cost(openai_server: OpenAIServer, metered: Metered) -> None:
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    openai_server.add(Reply("ok", model="gpt-4o-mini-2024-07-18"))
    model = ChatOpenAI(model="gpt-4o-mini", api_key=LC_API_KEY, base_url=openai_server.base_url)
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model
    chain.invoke({"q": "hi"}, config={"callbacks": [metered.traced.handler]})
    costed = [s.name for s in metered.traced.spans if "gen_ai.usage.cost.amount" in (s.attributes or {})]
    assert costed == ["chat gpt-4o-mini"]


@pytest.mark.parametrize("switch", ["handler", "env", "configure"])
def test_cost_can_be_turned_off(
    switch: str, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTELCHAIN_COST", raising=False)
    if switch == "env":
        monkeypatch.setenv("OTELCHAIN_COST", "false")
    elif switch == "configure":
        configure(exporter="none", set_global=False, cost=False)
    try:
        m = Metered(cost=False) if switch == "handler" else Metered()
        a = m.chat(openai_server, "gpt-4o-mini", model="gpt-4o-mini-2024-07-18")
        assert a["gen_ai.usage.input_tokens"] == 5
        assert not [k for k in a if k.startswith("gen_ai.usage.cost")]
        assert m.cost_points() == []
        m.traced.provider.shutdown()
        m.meters.shutdown()
    finally:
        set_cost_default(None)


def test_handler_argument_overrides_the_environment(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTELCHAIN_COST", "false")
    m = Metered(cost=True)
    a = m.chat(openai_server, "gpt-4o-mini", model="gpt-4o-mini-2024-07-18")
    assert a["gen_ai.usage.cost.source"] == "local"
    m.traced.provider.shutdown()
    m.meters.shutdown()

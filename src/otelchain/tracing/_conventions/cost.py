"""What a model call cost, computed on the client from its token counts.

Prices come from the maintained ``genai-prices`` package (its bundled price table; otelchain
writes no price of its own and fetches nothing): input tokens (cache reads and writes priced as
such), output tokens (reasoning included). A response that carries its own cost (an
OpenRouter-style ``usage.cost``) is recorded as is, with source ``provider``. A model or provider
``genai-prices`` does not know gets no cost: never a guess. The result goes on inference spans as
``gen_ai.usage.cost.amount`` (double), ``gen_ai.usage.cost.currency`` and
``gen_ai.usage.cost.source`` (``local`` or ``provider``), and into the
``gen_ai.client.operation.cost`` histogram.

On by default; off with ``OTELCHAIN_COST=false``, ``configure(cost=False)`` or a handler's
``cost=False``. ``genai-prices`` is installed with otelchain on Python 3.11+ (it does not support
3.10); without it only provider-reported costs are recorded.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from otelchain._json import is_mapping
from otelchain._options import env_flag
from otelchain.tracing._spans import health

__all__ = ["COST_ENV", "Cost", "call_cost", "cost_enabled", "price", "provider_cost", "set_cost_default"]

logger = logging.getLogger("otelchain.tracing")

COST_ENV = "OTELCHAIN_COST"
_default: bool | None = None  # configure(cost=...); None: the environment decides

# gen_ai.provider.name (the spec's names, as the handler records them) -> genai-prices' provider id
_PROVIDER_IDS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gen_ai": "google",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
    "moonshot_ai": "moonshotai",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "perplexity": "perplexity",
}


def set_cost_default(enabled: bool | None) -> None:
    """The process-wide switch ``configure(cost=...)`` sets (None: ``OTELCHAIN_COST`` decides)."""
    global _default
    _default = enabled


def cost_enabled(explicit: bool | None = None) -> bool:
    """A handler's ``cost`` argument, else ``configure(cost=...)``, else ``OTELCHAIN_COST``
    (default on)."""
    if explicit is not None:
        return explicit
    if _default is not None:
        return _default
    return env_flag(COST_ENV, True, logger)


class Cost:
    """One call's cost: amount, currency and where it came from (``local`` or ``provider``)."""

    __slots__ = ("amount", "currency", "source")

    def __init__(self, amount: float, currency: str, source: str) -> None:
        self.amount = amount
        self.currency = currency
        self.source = source


@functools.cache
def _calc() -> Any:
    """genai-prices' ``calc_price`` and ``Usage``, or None when it is not installed."""
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        logger.debug("otelchain tracing: genai-prices is not installed; no local cost")
        return None
    return calc_price, Usage


@functools.lru_cache(maxsize=512)
def _known(provider_id: str, model: str) -> bool:
    """Whether genai-prices has a price for this provider's model (an unknown one costs a lookup
    once, not on every call)."""
    calc = _calc()
    if calc is None:
        return False
    calc_price, usage = calc
    try:
        calc_price(usage(input_tokens=0, output_tokens=0), model, provider_id=provider_id)
    except LookupError:
        return False
    return True


def price(
    provider: str | None,
    model: str | None,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read: int | None = None,
    cache_write: int | None = None,
    reasoning: int | None = None,
    start_ns: int | None = None,
) -> Cost | None:
    """The local price of one call, in USD; None when the provider or model is unknown to
    genai-prices or no token count was reported."""
    provider_id = _PROVIDER_IDS.get(provider or "")
    if provider_id is None or not model or (input_tokens is None and output_tokens is None):
        return None
    if not _known(provider_id, model):
        return None
    calc_price, usage_class = _calc()
    usage: dict[str, int] = {"input_tokens": input_tokens or 0, "output_tokens": output_tokens or 0}
    if cache_read:
        usage["cache_read_tokens"] = cache_read
    if cache_write:
        usage["cache_write_tokens"] = cache_write
    if reasoning:
        usage["output_reasoning_tokens"] = reasoning
    when = datetime.fromtimestamp(start_ns / 1e9, tz=timezone.utc) if start_ns else None
    result = calc_price(usage_class(**usage), model, provider_id=provider_id, genai_request_timestamp=when)
    return Cost(float(result.total_price), "USD", "local")


def provider_cost(*sources: Any) -> Cost | None:
    """A cost the response itself reported (``token_usage.cost`` / ``usage.cost`` in its LLM
    output or message metadata, as OpenRouter sends it), in USD."""
    for source in sources:
        if not is_mapping(source):
            continue
        for key in ("token_usage", "usage"):
            usage = source.get(key)
            value = usage.get("cost") if isinstance(usage, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return Cost(float(value), "USD", "provider")
    return None


_failed = False


def call_cost(
    explicit: bool | None,
    provider: str | None,
    model: str | None,
    counts: Any,
    reported: float | None,
    start_ns: int,
) -> Cost | None:
    """One finished model call's cost: the provider's own (``reported``), else the local price
    of its token counts (`otelchain.tracing._conventions.openinference_values.TokenCounts`);
    None when cost is off (``explicit``: the handler's ``cost``) or the call has no price. A
    pricing failure is logged once and counted; the span keeps everything else."""
    global _failed
    if not cost_enabled(explicit):
        return None
    if reported is not None:
        return Cost(reported, "USD", "provider")
    try:
        return price(
            provider,
            model,
            input_tokens=counts.prompt,
            output_tokens=counts.completion,
            cache_read=counts.cache_read,
            cache_write=counts.cache_write,
            reasoning=counts.reasoning,
            start_ns=start_ns,
        )
    except Exception as error:
        health.count("tracer_errors")
        if not _failed:
            _failed = True
            logger.warning("otelchain tracing: pricing failed: %s: %s", type(error).__name__, error)
        return None

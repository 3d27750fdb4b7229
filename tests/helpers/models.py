"""Model calls in tests: the fake OpenAI key, sync/async call and stream helpers, and `LC`, an
instrumented LangChain app whose ChatOpenAI talks to the loopback server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from otelchain.tracing import OpenTelemetryCallbackHandler
from tests._servers.openai_server import OpenAIServer
from tests.helpers.events import Recorder
from tests.helpers.spans import Traced

API_KEY = "sk-test-0123456789abcdefSECRETxyz"  # otelchain's OpenAI models in tests
LC_API_KEY = "sk-langchain-test-key-0123456789"  # langchain-openai's ChatOpenAI in `LC`


async def call(runnable: Any, input: Any, mode: str, **kwargs: Any) -> Any:
    """``runnable.call`` (mode "sync") or ``await runnable.acall`` ("async"): one body, both paths."""
    if mode == "sync":
        return runnable.call(input, **kwargs)
    return await runnable.acall(input, **kwargs)


async def stream(
    model: Any, input: Any, mode: str, handler: Recorder | None = None, **kwargs: Any
) -> list[Any]:
    """Collect ``model.stream`` / ``model.astream``; with ``handler``, check each token was
    announced (``on_llm_new_token``) before it was yielded."""
    out: list[Any] = []
    callbacks = [handler] if handler is not None else None

    def seen(item: Any) -> None:
        if handler is not None:
            text = item if isinstance(item, str) else item.content
            assert handler.tokens[len(out)] == text, "token yielded before on_llm_new_token"
        out.append(item)

    if mode == "sync":
        for item in model.stream(input, callbacks=callbacks, **kwargs):
            seen(item)
    else:
        async for item in model.astream(input, callbacks=callbacks, **kwargs):
            seen(item)
    return out


@dataclass
class LC:
    """An instrumented app: spans in memory, langchain-openai's ChatOpenAI against the loopback server."""

    traced: Traced
    handler: OpenTelemetryCallbackHandler
    server: OpenAIServer

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.traced.spans

    def chat(self, **kwargs: Any) -> Any:
        from langchain_openai import ChatOpenAI

        kwargs.setdefault("model", "test-model-0001")
        kwargs.setdefault("api_key", LC_API_KEY)
        kwargs.setdefault("base_url", self.server.base_url)
        kwargs.setdefault("max_retries", 0)
        return ChatOpenAI(**kwargs)

    def http_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name.startswith("POST") or s.name.startswith("GET")]

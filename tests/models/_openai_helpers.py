"""Helpers for OpenAI model tests: sync/async call and stream helpers."""

from __future__ import annotations

from typing import Any

from tests.helpers import Recorder

API_KEY = "sk-test-0123456789abcdefSECRETxyz"


async def call(model: Any, input: Any, mode: str, **kwargs: Any) -> Any:
    """``model.call`` or ``await model.acall``."""
    if mode == "sync":
        return model.call(input, **kwargs)
    return await model.acall(input, **kwargs)


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

"""Helpers for OpenAI model tests: a handler recording every event, sync/async call helpers."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from otelchain.callbacks import BaseCallbackHandler

API_KEY = "sk-test-0123456789abcdefSECRETxyz"


class Events(BaseCallbackHandler):
    """Records ``(event, args, kwargs)`` for every callback event, in order; `named` gives each
    event's arguments by name, whether they were passed by position or by keyword."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def named(self, name: str) -> list[dict[str, Any]]:
        """Each ``name`` event's arguments, bound to the handler method's parameter names."""
        sig = inspect.signature(getattr(BaseCallbackHandler, name))
        out = []
        for n, a, k in self.events:
            if n == name:
                bound = dict(sig.bind(self, *a, **k).arguments)
                bound.update(bound.pop("kwargs", {}))
                out.append(bound)
        return out

    @property
    def names(self) -> list[str]:
        return [n for n, _, _ in self.events]

    @property
    def tokens(self) -> list[str]:
        return [e["token"] for e in self.named("on_llm_new_token")]

    def one(self, name: str) -> dict[str, Any]:
        (event,) = self.named(name)
        return event


def _recorder(name: str) -> Callable[..., None]:
    def record(self: Events, *args: Any, **kwargs: Any) -> None:
        self.events.append((name, args, kwargs))

    return record


for _name in [n for n in vars(BaseCallbackHandler) if n.startswith("on_")]:
    setattr(Events, _name, _recorder(_name))


async def call(model: Any, input: Any, mode: str, **kwargs: Any) -> Any:
    """``model.call`` or ``await model.acall``."""
    if mode == "sync":
        return model.call(input, **kwargs)
    return await model.acall(input, **kwargs)


async def stream(
    model: Any, input: Any, mode: str, handler: Events | None = None, **kwargs: Any
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

"""Helpers shared by test packages."""

from __future__ import annotations

import time
from typing import Any

from otelchain.callbacks import BaseCallbackHandler
from otelchain.chains import Chain


class Recorder(BaseCallbackHandler):
    """Records (event, first positional argument, kwargs) for every event."""

    def __init__(self, label: str = "rec") -> None:
        self.label = label
        self.events: list[tuple[str, Any, dict[str, Any]]] = []

    def _rec(self, event: str, arg: Any, kwargs: dict[str, Any]) -> None:
        self.events.append((event, arg, kwargs))

    def on_llm_start(self, serialized: Any, prompts: Any, **kw: Any) -> None:
        self._rec("on_llm_start", prompts, kw)

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self._rec("on_chat_model_start", messages, kw)

    def on_llm_new_token(self, token: str, **kw: Any) -> None:
        self._rec("on_llm_new_token", token, kw)

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self._rec("on_llm_end", response, kw)

    def on_llm_error(self, error: BaseException, **kw: Any) -> None:
        self._rec("on_llm_error", error, kw)

    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self._rec("on_chain_start", (serialized or {}).get("name") or kw.get("name"), kw)

    def on_chain_end(self, outputs: Any, **kw: Any) -> None:
        self._rec("on_chain_end", outputs, kw)

    def on_chain_error(self, error: BaseException, **kw: Any) -> None:
        self._rec("on_chain_error", error, kw)

    @property
    def names(self) -> list[str]:
        return [e[0] for e in self.events]


class XYChain(Chain):
    """A test chain taking input ``x`` and returning output ``y``; subclasses write `_call`."""

    @property
    def input_keys(self) -> list[str]:
        return ["x"]

    @property
    def output_keys(self) -> list[str]:
        return ["y"]


class FakeClock:
    """A clock the test moves by hand, patched in as a module's ``time`` (``monkeypatch.setattr(
    module, "time", clock)``): ``time_ns``/``monotonic`` read it, the rest is the real module."""

    def __init__(self) -> None:
        self.ns = 1_000_000_000_000

    def advance(self, seconds: float) -> None:
        self.ns += round(seconds * 1e9)

    def time_ns(self) -> int:
        return self.ns

    def monotonic(self) -> float:
        return self.ns / 1e9

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

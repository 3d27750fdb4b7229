"""The tests' one recording handler: `Recorder` keeps every callback event, in order, as an `Event`."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from otelchain.callbacks import BaseCallbackHandler
from otelchain.callbacks._base import EVENT_NAMES


@dataclass
class Event:
    """One callback event as a handler received it."""

    event: str  # on_chain_start, on_llm_new_token, ...
    args: tuple[Any, ...]
    kwargs: dict[str, Any]  # as passed: run_id, parent_run_id, tags, ...
    name: str | None = None  # the run's name, from its start event

    @property
    def kind(self) -> str:
        """``chain_start``, ``llm_start`` (chat models too), ``token``, ``tool_end``, ..."""
        return _KINDS.get(self.event, self.event[3:])

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind

    @property
    def payload(self) -> Any:
        """The main argument: a start's inputs (prompts, messages, input), a token, else the first."""
        if self.event == "on_llm_new_token":
            return self.kwargs.get("token", self.args[0] if self.args else None)
        if self.event in _STARTS:
            return self.args[1]
        return self.args[0] if self.args else None

    @property
    def run_id(self) -> UUID:
        return self.kwargs["run_id"]  # type: ignore[no-any-return]

    @property
    def parent_run_id(self) -> UUID | None:
        return self.kwargs.get("parent_run_id")


_KINDS = {"on_chat_model_start": "llm_start", "on_llm_new_token": "token"}
_STARTS = frozenset(e for e in EVENT_NAMES if e.endswith("_start"))


class Recorder(BaseCallbackHandler):
    """The tests' one recording handler: every event, in order, as an `Event`."""

    def __init__(self, label: str = "rec") -> None:
        self.label = label
        self.events: list[Event] = []
        self._names: dict[Any, str | None] = {}

    def _record(self, event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        run_id = kwargs.get("run_id")
        if event in _STARTS:
            name = (args[0] or {}).get("name") if args else None
            self._names[run_id] = name = name or kwargs.get("name")
        else:
            name = self._names.get(run_id)
        self.events.append(Event(event, args, kwargs, name))

    @property
    def names(self) -> list[str]:
        """The events' names, in order."""
        return [e.event for e in self.events]

    def labels(self, tokens: bool = False) -> list[str]:
        """``kind:run name`` of every event (tokens left out unless asked for)."""
        return [e.label for e in self.events if tokens or e.kind != "token"]

    def of(self, kind: str, name: str | None = None) -> list[Event]:
        return [e for e in self.events if e.kind == kind and (name is None or e.name == name)]

    def named(self, event: str) -> list[dict[str, Any]]:
        """Each ``event``'s arguments by name, whether passed by position or by keyword."""
        sig = inspect.signature(getattr(BaseCallbackHandler, event))
        out = []
        for e in self.events:
            if e.event == event:
                bound = dict(sig.bind(self, *e.args, **e.kwargs).arguments)
                bound.update(bound.pop("kwargs", {}))
                out.append(bound)
        return out

    def one(self, event: str) -> dict[str, Any]:
        (only,) = self.named(event)
        return only

    @property
    def tokens(self) -> list[str]:
        return [e.payload for e in self.events if e.event == "on_llm_new_token"]


def _recording(event: str) -> Any:
    def record(self: Recorder, *args: Any, **kwargs: Any) -> None:
        self._record(event, args, kwargs)

    return record


for _event in EVENT_NAMES:
    setattr(Recorder, _event, _recording(_event))

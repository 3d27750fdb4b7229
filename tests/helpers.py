"""Helpers shared by test packages."""

from __future__ import annotations

import http.server
import inspect
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.callbacks import BaseCallbackHandler, CallbackManagerForChainRun
from otelchain.callbacks._base import EVENT_NAMES
from otelchain.chains import Chain, LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tools import Calculator


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


class Boom(XYChain):
    """A chain whose body raises the given exception."""

    type_name = "boom"

    def __init__(self, error: BaseException, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        raise self.error


def seed_chain(**llm_kwargs: Any) -> LLMChain:
    """The seed's first example: ``1 + {number} =`` answered by a scripted completion model."""
    llm = FakeListLLM([" 3\n\n3 - 1 = 2"], **llm_kwargs)
    return LLMChain(llm=llm, prompt=PromptTemplate.from_template("1 + {number} ="))


# The seed's agent example, streamed exactly as the seed's model streams it.
SEED_STEP_1 = ["", "I", " can", " use", " the", " calculator", " tool", " to", " solve", " this", ".\n"]
SEED_STEP_1 += ["Action", ":", " calculator", "\n", "Action", " Input", ":", " ", "2", "^", "8", ""]
SEED_STEP_2 = ["", "That", " was", " easy", "!\n", "Final", " Answer", ":", " ", "256", ""]


def seed_model(**kwargs: Any) -> FakeListChatModel:
    """The scripted chat model of the seed's example (streams the seed's tokens)."""
    return FakeListChatModel([SEED_STEP_1, SEED_STEP_2], streaming=True, **kwargs)


def seed_executor(**kwargs: Any) -> AgentExecutor:
    """The seed's calculator agent (its agent allows only ``search``, as the seed's does)."""
    tools = [Calculator()]
    chain = LLMChain(llm=seed_model(), prompt=ZeroShotAgent.create_prompt(tools))
    agent = ZeroShotAgent(llm_chain=chain, allowed_tools=["search"])
    return AgentExecutor.from_agent_and_tools(agent=agent, tools=tools, **kwargs)


CALC_STEP_1 = ["I", " can", " use", " the", " calculator", ".\n", "Action", ":", " calculator", "\n"]
CALC_STEP_1 += ["Action", " Input", ":", " 2", "^", "8"]
CALC_STEP_2 = ["That", " was", " easy", "!\n", "Final", " Answer", ":", " 256"]


def calculator_executor() -> AgentExecutor:
    """A two-step calculator agent (one action, then the final answer ``256``)."""
    tools = [Calculator()]
    model = FakeListChatModel([CALC_STEP_1, CALC_STEP_2], streaming=True)
    chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
    agent = ZeroShotAgent(llm_chain=chain, allowed_tools=["calculator"])
    return AgentExecutor.from_agent_and_tools(agent=agent, tools=tools)


@contextmanager
def get_server(body: bytes, seen: list[dict[str, str]] | None = None) -> Iterator[str]:
    """An HTTP service on 127.0.0.1 answering every GET with ``body`` (recording the request
    headers in ``seen``); yields its URL and stops when the block ends."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if seen is not None:
                seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

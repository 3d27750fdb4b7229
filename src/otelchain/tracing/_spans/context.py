"""Which OTel context belongs to a run, for code that runs a run's body but does not own it.

otelchain's own objects make a run's span current with ``run_manager.activate()`` in the frame
that runs the body. Frameworks whose bodies otelchain does not write (langchain-core, LangGraph)
need two things from the tracing layer, both here:

- :func:`run_context`: the context holding a run's span, found by run id in any live
  `OpenTelemetryCallbackHandler` (a body that knows its run id makes it current itself).
- :func:`claim_next_run`: for a body that does not know its run id before the run starts (a
  streaming model starts its run inside the first ``next()``). The frame opens a claim; the first
  run of the given type that a tracing handler starts in that context takes it: the handler makes
  the span current right away (before the body's first I/O) and records the token, and the frame
  that opened the claim detaches it before it returns or yields. Attach and detach thus happen in
  one frame and one context, so nothing stays attached and nothing is detached out of order.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol
from uuid import UUID

from opentelemetry import context as otel_context

logger = logging.getLogger("otelchain.tracing")

__all__ = [
    "Claim",
    "TracingHandler",
    "claim_next_run",
    "has_peers",
    "live_handlers",
    "reorder",
    "run_context",
    "run_state",
]


class TracingHandler(Protocol):
    """A tracing handler as the code running bodies sees it (`SpanLifecycle` is one)."""

    shared: bool  # the app-wide handler of `instrument()`
    runs: dict[Any, Any]  # its open runs by id

    def otelchain_run_context(self, run_id: UUID) -> Any:
        """The run's context (its ``context()`` holds the run's span), or None."""


_live: weakref.WeakSet[TracingHandler] = weakref.WeakSet()
# What the per-run lookups iterate: weak references to the live handlers, rebuilt only when a
# handler is made or collected (iterating the WeakSet itself costs a few µs on every run).
_refs: tuple[weakref.ref[TracingHandler], ...] = ()
_refs_lock = threading.RLock()  # a handler collected while rebuilding rebuilds again


def _rebuild_refs(_gone: object = None) -> None:
    """The lookup order: the app-wide handler of `instrument()` first, so a span of other
    instrumentation (the app's provider) nests under its span of a run that a second handler
    (another provider, passed in ``callbacks``) traces too; the others in no particular order."""
    global _refs
    with _refs_lock:
        handlers = sorted(list(_live), key=lambda handler: not handler.shared)
        _refs = tuple(weakref.ref(handler, _rebuild_refs) for handler in handlers)


def reorder() -> None:
    """Rebuild the lookup order (after a handler became the shared one)."""
    _rebuild_refs()


# Bridges to frameworks whose bodies otelchain does not run, added by the package that wires the
# layers (so tracing depends on none of them); each is switched on by the first handler.
_BRIDGES: list[Callable[[], None]] = []


def add_bridge(enable: Callable[[], None]) -> None:
    """Call ``enable()`` when a tracing handler is made (it must be idempotent)."""
    if enable not in _BRIDGES:
        _BRIDGES.append(enable)
        if live_handlers():  # a handler made before the bridge was added
            enable()


def register(handler: TracingHandler) -> None:
    """Make a handler's runs findable by :func:`run_context` (weakly: it may be dropped), and
    switch on the bridges that make runs' spans current in frameworks' bodies."""
    _live.add(handler)
    _rebuild_refs()
    for enable in list(_BRIDGES):
        try:
            enable()
        except Exception as error:  # tracing must never break the app
            logger.warning("otelchain: could not enable a bridge: %s: %s", type(error).__name__, error)


def live_handlers() -> list[TracingHandler]:
    """The tracing handlers alive now."""
    return [handler for ref in _refs if (handler := ref()) is not None]


def has_peers(handler: TracingHandler) -> bool:
    """Whether any tracing handler other than ``handler`` is alive (cheap: on every run)."""
    refs = _refs
    return len(refs) > 1 or (len(refs) == 1 and refs[0]() is not handler)


def run_state(run_id: UUID | None) -> Any:
    """The span state of run ``run_id`` in whichever handler traces it (its ``context()`` holds
    the run's span; ``live`` is False once the span ended), or None."""
    if run_id is None:
        return None
    for ref in _refs:
        handler = ref()
        if handler is not None:
            state = handler.otelchain_run_context(run_id)
            if state is not None:
                return state
    return None


def run_context(run_id: UUID | None) -> otel_context.Context | None:
    """The OTel context holding the span of run ``run_id``, in whichever handler traces it."""
    state = run_state(run_id)
    return None if state is None else state.context()


class Claim:
    """An open claim on the next run of ``run_type`` started in this context (see module doc).

    ``agent_name`` marks a claimed chain run as an agent run (a LangGraph agent's graph run).
    """

    __slots__ = ("activate", "agent_name", "run_id", "run_type", "token")

    def __init__(self, run_type: str, *, activate: bool = True, agent_name: str | None = None) -> None:
        self.run_type = run_type
        self.activate = activate
        self.agent_name = agent_name
        self.run_id: UUID | None = None
        self.token: Any = None  # the attach token, when the claiming handler made the span current

    def take(self, run_type: str, run_id: UUID) -> bool:
        """Called by a handler starting a run: whether this run takes the claim."""
        if self.run_id is not None or run_type != self.run_type:
            return False
        self.run_id = run_id
        return True

    def detach(self) -> None:
        """Undo the claiming handler's attach (the frame that opened the claim calls this)."""
        token, self.token = self.token, None
        if token is not None:
            otel_context.detach(token)


_claim: ContextVar[Claim | None] = ContextVar("otelchain_claim", default=None)


def current_claim() -> Claim | None:
    """The claim open in this context, if any (read by the tracing handler at run start)."""
    return _claim.get()


def claim_next_run(claim: Claim) -> Any:
    """Open ``claim`` in this context; returns the token for :func:`close_claim`."""
    return _claim.set(claim)


def close_claim(token: Any) -> None:
    """Close the claim opened with :func:`claim_next_run` (same frame, same context)."""
    _claim.reset(token)

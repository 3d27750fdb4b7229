"""Run state: the one place that turns callback events into a tree of runs.

`RunTreeHandler` records each run by id (its parent, name, type, timing, execution order) and
calls small hooks on start, token, action and end. The console handler and the OpenTelemetry
handler are both built on it, so they see the same tree.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from otelchain.callbacks import _lifetime
from otelchain.callbacks._base import BaseCallbackHandler
from otelchain.callbacks._interrupts import DEFER_INTERRUPTS

if TYPE_CHECKING:
    from otelchain.schema import AgentAction, AgentFinish, BaseMessage, LLMResult

__all__ = ["INPUTS_AT_END", "Run", "RunTreeHandler", "now_ns", "run_stamp_ns"]

# ``Run.extra`` key: the run's inputs came with its end event (a streamed run), not its start.
INPUTS_AT_END = "otelchain_inputs_at_end"

_STAMPS_KEPT = 4096
# Keyed by the id's int (UUID.__hash__ is Python code). Two generations of plain dicts: writes go
# to the newer; once it holds `_STAMPS_KEPT` ids it becomes the older and the oldest generation
# goes whole. No lock: each step is one dict operation, atomic, and a stamp is read within
# microseconds of being written, long before its generation goes.
_stamps: dict[object, tuple[bool, int]] = {}
_older_stamps: dict[object, tuple[bool, int]] = {}


def now_ns() -> int:
    """The clock every run time comes from (wall time in ns; tests replace it with a fake)."""
    return time.time_ns()


def run_stamp_ns(run_id: UUID, end: bool) -> int:
    """One timestamp per run start (``end=False``) or end, shared by every handler of the run.

    The first handler to see the event stamps it; the others, called right after for the same
    event, read the same stamp, so the verbose log and the span tree show the same durations.
    Only the latest event per run id counts (a reused run id starts afresh); the ids of the
    latest 4096 to 8192 events are kept.
    """
    global _stamps, _older_stamps
    key = run_id.int if type(run_id) is UUID else run_id
    entry = _stamps.get(key)
    if entry is None:
        entry = _older_stamps.get(key)
    if entry is not None and entry[0] is end:
        return entry[1]
    stamp = now_ns()
    stamps = _stamps
    if len(stamps) >= _STAMPS_KEPT:
        _older_stamps, _stamps = stamps, {}
        stamps = _stamps
    stamps[key] = (end, stamp)
    return stamp


class Run:
    """One run as a handler sees it. ``data`` is free for the handler (e.g. its span)."""

    __slots__ = (
        "_order",
        "data",
        "end_ns",
        "error",
        "execution_order",
        "extra",
        "inputs",
        "metadata",
        "name",
        "outputs",
        "owner",
        "parent",
        "parent_run_id",
        "run_id",
        "run_type",
        "serialized",
        "start_ns",
        "tags",
    )

    def __init__(
        self,
        run_id: UUID,
        parent: Run | None,
        parent_run_id: UUID | None,
        run_type: str,
        name: str,
        serialized: dict[str, Any],
        inputs: Any,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        extra: dict[str, Any],
    ) -> None:
        self.run_id = run_id
        self.parent = parent
        self.parent_run_id = parent_run_id
        self.run_type = run_type
        self.name = name
        self.serialized = serialized
        self.inputs = inputs
        self.outputs: Any = None
        self.error: BaseException | None = None
        self.tags = tags
        self.metadata = metadata
        self.extra = extra
        self.start_ns = run_stamp_ns(run_id, False)
        self.end_ns: int | None = None
        # Execution order counts runs in start order within one tree (1 = root).
        if parent is None:
            self._order = itertools.count(2)
            self.execution_order = 1
        else:
            self._order = parent._order
            self.execution_order = next(parent._order)
        self.data: Any = None
        self.owner: Any = None  # the `_lifetime.Owner` (task or thread) that started it, while open

    @property
    def duration_s(self) -> float:
        end = self.end_ns if self.end_ns is not None else now_ns()
        return (end - self.start_ns) / 1e9

    def lineage(self) -> list[Run]:
        """Root first, this run last."""
        chain: list[Run] = []
        run: Run | None = self
        while run is not None:
            chain.append(run)
            run = run.parent
        chain.reverse()
        return chain


def _run_name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if name:
        return str(name)
    if serialized:
        if serialized.get("name"):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return default


class RunTreeHandler(BaseCallbackHandler):
    """Keeps the tree of live runs keyed by run id and calls the ``_on_*`` hooks.

    Runs inline (in order, in the caller's task) because the tree depends on event order.
    State is per run id and removed at the run's end; dict operations are atomic, so threads and
    tasks running different runs do not interfere. A run whose end never comes is ended when the
    task or thread that started it is gone (`otelchain.callbacks._lifetime`); a Ctrl-C landing
    while a run is recorded or forgotten is held until that is done (`_interrupts`).
    """

    run_inline = True

    def __init__(self) -> None:
        self.runs: dict[UUID, Run] = {}
        _lifetime.track_handler(self)

    # hooks for subclasses -------------------------------------------------------------------
    def _on_run_start(self, run: Run) -> None:
        """A run started (``run.parent`` is None for roots and unknown parents)."""

    def _on_run_end(self, run: Run) -> None:
        """A run ended; ``run.error`` is set when it failed."""

    def _on_token(self, run: Run, token: str, chunk: Any) -> None:
        """A model run streamed a token."""

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        """An agent executor run chose an action."""

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        """An agent executor run finished."""

    def _on_run_event(self, run: Run, name: str, payload: dict[str, Any]) -> None:
        """Another event (text, retry, custom) happened within a run."""

    def _on_run_abandoned(self, run: Run) -> None:
        """The task or thread that started ``run`` is gone and its end never came; the run is
        ended right after this (its error the cancellation)."""

    # bookkeeping ----------------------------------------------------------------------------
    def _start(
        self, run_type: str, serialized: dict[str, Any] | None, inputs: Any, kwargs: dict[str, Any]
    ) -> None:
        """Record a run from a start event's keyword arguments (``run_id``, ``parent_run_id``, ...)."""
        run_id: UUID = kwargs.pop("run_id")
        parent_run_id: UUID | None = kwargs.pop("parent_run_id", None)
        tags: list[str] | None = kwargs.pop("tags", None)
        metadata: dict[str, Any] | None = kwargs.pop("metadata", None)
        if run_id in self.runs:  # a start delivered twice (e.g. re-sent after an interrupt)
            return
        parent = self.runs.get(parent_run_id) if parent_run_id is not None else None
        with DEFER_INTERRUPTS:
            run = Run(
                run_id,
                parent,
                parent_run_id,
                run_type,
                _run_name(serialized, kwargs, run_type),
                serialized or {},
                inputs,
                tags,
                metadata,
                kwargs,
            )
            self.runs[run_id] = run
            _lifetime.adopt(self, run)
            self._on_run_start(run)

    def _end(
        self,
        run_id: UUID,
        outputs: Any = None,
        error: BaseException | None = None,
        inputs: Any = None,
        *,
        descendants: bool = True,
    ) -> None:
        run = self.runs.get(run_id)
        if run is None:
            return
        if inputs is not None:
            # A streamed langchain-core run starts with the placeholder {"input": ""} and sends
            # its real input (the chunks put together) with its end event.
            run.inputs = inputs
            run.extra[INPUTS_AT_END] = True
        with DEFER_INTERRUPTS:
            if descendants and error is not None and not isinstance(error, Exception):
                # An interrupt (KeyboardInterrupt, CancelledError, SystemExit) unwinds every run
                # below this one: any still open lost its end event to the interrupt, so it ends here.
                self._end_descendants(run, error)
            run.end_ns = run_stamp_ns(run_id, True)
            run.outputs = outputs
            run.error = error
            self._on_run_end(run)
            # Forgotten only once ended: an interrupt above leaves the run here, and the run's
            # failure (re-sent to a handler an interrupt cut short) ends it then.
            self.runs.pop(run_id, None)
            _lifetime.release(run)

    def _abandon(self, run: Run, error: BaseException) -> None:
        """End ``run``, whose task or thread is gone, with ``error`` (its descendants are ended
        by their own owners: a child task may still be running)."""
        if self.runs.get(run.run_id) is not run:
            return
        self._on_run_abandoned(run)
        self._end(run.run_id, error=error, descendants=False)

    def _end_descendants(self, ancestor: Run, error: BaseException) -> None:
        orphans = [r for r in list(self.runs.values()) if r is not ancestor and ancestor in r.lineage()]
        for orphan in sorted(orphans, key=lambda r: -r.execution_order):  # innermost first
            self._end(orphan.run_id, error=error)

    # events: the base class's signatures; keyword arguments arrive as LangChain sends them --
    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], **kwargs: Any) -> None:
        self._start("llm", serialized, {"prompts": prompts}, kwargs)

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
    ) -> None:
        self._start("llm", serialized, {"messages": messages}, {**kwargs, "is_chat_model": True})

    def on_chain_start(self, serialized: dict[str, Any], inputs: dict[str, Any], **kwargs: Any) -> None:
        self._start(str(kwargs.get("run_type") or "chain"), serialized, inputs, kwargs)

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, **kwargs: Any) -> None:
        inputs = kwargs.pop("inputs", None)
        self._start("tool", serialized, inputs if inputs is not None else {"input": input_str}, kwargs)

    def on_retriever_start(self, serialized: dict[str, Any], query: str, **kwargs: Any) -> None:
        self._start("retriever", serialized, {"query": query}, kwargs)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs=response)

    def on_chain_end(self, outputs: dict[str, Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs=outputs, inputs=kwargs.get("inputs"))

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs={"output": output})

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs={"documents": list(documents)})

    def _on_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error, inputs=kwargs.get("inputs"))

    on_llm_error = on_chain_error = on_tool_error = on_retriever_error = _on_error

    def on_llm_new_token(self, token: str, *, chunk: Any = None, run_id: UUID, **kwargs: Any) -> None:
        if (run := self.runs.get(run_id)) is not None:
            self._on_token(run, token, chunk)

    def on_agent_action(self, action: AgentAction, *, run_id: UUID, **kwargs: Any) -> None:
        if (run := self.runs.get(run_id)) is not None:
            self._on_agent_action(run, action)

    def on_agent_finish(self, finish: AgentFinish, *, run_id: UUID, **kwargs: Any) -> None:
        if (run := self.runs.get(run_id)) is not None:
            self._on_agent_finish(run, finish)

    def on_text(self, text: str, *, run_id: UUID, **kwargs: Any) -> None:
        if (run := self.runs.get(run_id)) is not None:
            self._on_run_event(run, "text", {"text": text})

    def on_retry(self, retry_state: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if (run := self.runs.get(run_id)) is not None:
            self._on_run_event(run, "retry", {"retry_state": retry_state})

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if (run := self.runs.get(run_id)) is not None:
            self._on_run_event(run, name, {"data": data})

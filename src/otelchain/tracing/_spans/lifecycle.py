"""`SpanLifecycle`: every run a span, nested by parent run, ended exactly once.

Built on `RunTreeHandler`, so run state lives in one place and is dropped when the run ends.
The span of a run is parented by the span of its parent run (found by run id); a run whose
parent this handler never saw nests under the ambient OTel context. The lifecycle never makes
a span current itself: the code executing a run does, in its own frame, through
``run_manager.activate()``, which asks :meth:`SpanLifecycle.otelchain_run_context`.

It knows no vocabulary: the span's name and attributes come from its mappers
(`otelchain.tracing._spans.mapper.Mapper`), which run only for spans the sampler records. For a
span that is not recording nothing else runs (no attribute computed, no JSON written); its
parenting, its end and the recorders (metrics) still do.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from otelchain._json import scrub
from otelchain._options import check_int
from otelchain.callbacks import _runs
from otelchain.callbacks._runs import Run, RunTreeHandler
from otelchain.schema import AgentAction, AgentFinish
from otelchain.tracing import _names as A
from otelchain.tracing._spans import health
from otelchain.tracing._spans.context import (
    Claim,
    current_claim,
    has_peers,
    live_handlers,
    register,
    run_context,
)
from otelchain.tracing._spans.control_flow import control_flow, end_by_control_flow, end_paused
from otelchain.tracing._spans.mapper import Attrs, Content, Mapper, Recorder
from otelchain.tracing._spans.state import (
    DEFAULT_MAX_ATTRIBUTES,
    DEFAULT_MAX_EVENTS,
    SpanState,
    budget,
    sdk_span_limits,
    unsampled_child,
)
from otelchain.tracing._spans.tokens import TokenEvents, token_text
from otelchain.tracing._spans.values import bound_attributes, error_type, truncate

__all__ = ["DEFAULT_MAX_ATTRIBUTE_LENGTH", "DEFAULT_MAX_SPAN_LENGTH", "SpanLifecycle", "error_message"]

logger = logging.getLogger("otelchain.tracing")

DEFAULT_MAX_ATTRIBUTE_LENGTH = 16_384
DEFAULT_MAX_SPAN_LENGTH = 512 * 1024  # characters: at most 2 MiB of UTF-8, half a default gRPC message
_EMPTY_CONTEXT = otel_context.Context()
_INPUTS_AT_START = frozenset({"llm", "tool", "retriever"})  # run types whose input comes with the start


def error_message(error: BaseException) -> str:
    """``str(error)``, or a placeholder when its ``__str__`` raises."""
    try:
        return str(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"


class SpanLifecycle(RunTreeHandler):
    """Runs to spans: start (parent by run), end, status and errors, token events, limits and
    health. ``mappers`` write the attributes; ``recorders`` see every run (sampled or not);
    ``view`` builds the mappers' shared view of a run on its first use."""

    def __init__(
        self,
        tracer: trace.Tracer,
        mappers: Sequence[Mapper],
        *,
        content: Content,
        view: Callable[[Run, Claim | None], Any],
        recorders: Sequence[Recorder] = (),
        tracer_provider: TracerProvider | None = None,
        max_attribute_length: int | None = DEFAULT_MAX_ATTRIBUTE_LENGTH,
        max_span_length: int | None = DEFAULT_MAX_SPAN_LENGTH,
        separate_trace_from_runtime_context: bool = False,
    ) -> None:
        # at least 16 characters: room for a cut value's marker (0 or -1 would cut every value away)
        check_int("max_attribute_length", max_attribute_length, 16, none="no limit")
        check_int("max_span_length", max_span_length, 16, none="no limit")
        super().__init__()
        self.tracer_provider = tracer_provider
        self._tracer = tracer
        self.content = content
        self.capture_content = content.any
        self.max_attribute_length = max_attribute_length
        # Text on one span in total: one span must never make a batch too big to send.
        self.max_span_length = max_span_length
        self.use(mappers)
        self.recorders = tuple(recorders)
        self._view = view
        self._tokens = TokenEvents(content.any, max_attribute_length, max_span_length)
        self._limits_cache: tuple[int | None, int | None] | None = None
        self._child_cache: tuple[Callable[[Span], Span] | None] | None = None
        self._errors: Counter[str] = Counter()
        self._errors_lock = threading.Lock()
        self.shared = False  # True for the app-wide handler of `instrument()`
        self.separate_trace_from_runtime_context = bool(separate_trace_from_runtime_context)
        register(self)

    def use(self, mappers: Sequence[Mapper]) -> None:
        """Write spans with these vocabularies: the first that names spans names them; a
        success gets status OK only when a mapper asks for it and none objects."""
        self.mappers = tuple(mappers)
        self._namer = next((m for m in self.mappers if type(m).head is not Mapper.head), None)
        opinions = {m.status_ok for m in self.mappers if m.status_ok is not None}
        self._status_ok = opinions == {True}

    # --- health ---------------------------------------------------------------------------
    @property
    def error_counts(self) -> dict[str, int]:
        """How many times each hook failed inside this handler (and was survived)."""
        with self._errors_lock:
            return dict(self._errors)

    def _failed(self, where: str, error: BaseException) -> None:
        with self._errors_lock:
            self._errors[where] += 1
        logger.warning("otelchain tracing: %s failed: %s", where, type(error).__name__)
        health.count("tracer_errors")

    def _target_provider(self) -> object:
        """The provider this handler's spans go to (the global one unless it was given one)."""
        provider = self.tracer_provider
        if provider is None or getattr(provider, "otelchain_uses_global", False):
            return trace.get_tracer_provider()
        return provider

    def _traced_by_peer(self, run_id: UUID) -> bool:
        """Whether another handler of the same provider already traces this run (the shared
        handler of `instrument()` beside one the app passed in ``callbacks``): one span a run."""
        if not has_peers(self):
            return False
        mine: object | None = None
        for peer in live_handlers():
            if peer is self or not isinstance(peer, SpanLifecycle):
                continue
            run = peer.runs.get(run_id)
            if run is None or run.data is None:
                continue
            if mine is None:
                mine = self._target_provider()
            if peer._target_provider() is mine:
                return True
        return False

    def otelchain_run_context(self, run_id: UUID) -> SpanState | None:
        """This run's context (a `RunContext`: what ``rm.activate()`` makes current)."""
        run = self.runs.get(run_id)
        return None if run is None else run.data

    # --- limits -----------------------------------------------------------------------------
    def _limits(self) -> tuple[int | None, int | None]:
        """The provider's (max events, max attributes) per span, cached once it is known (SDK
        defaults until then)."""
        cached = self._limits_cache
        if cached is None:
            cached = sdk_span_limits(self._tracer)
            if cached is None:
                return DEFAULT_MAX_EVENTS, DEFAULT_MAX_ATTRIBUTES
            self._limits_cache = cached
        return cached

    def _unsampled_child(self) -> Callable[[Span], Span] | None:
        """The SDK's own start of a dropped span's child, when its sampler is known to drop it
        (`unsampled_child`), cached once the tracer is an SDK tracer."""
        cached = self._child_cache
        if cached is None:
            if sdk_span_limits(self._tracer) is None:  # not an SDK tracer (yet)
                return None
            cached = self._child_cache = (unsampled_child(self._tracer),)
        return cached[0]

    def room_chars(self, state: SpanState) -> int | None:
        """Characters of text the span can still take (None: no total limit)."""
        total = self.max_span_length
        return None if total is None else total - state.chars

    def put(self, state: SpanState, attrs: Attrs) -> None:
        """Bound ``attrs`` against the span's limits and set them (a mapper's late writes)."""
        if attrs:
            state.chars += bound_attributes(attrs, self.max_attribute_length, self.room_chars(state))
            state.span.set_attributes(attrs)

    def add_event(self, state: SpanState, name: str, attrs: Attrs) -> None:
        """One event within the span's event budget (counted as dropped beyond it), its values
        bounded like attributes."""
        if state.singles is not None and state.events >= state.singles:
            state.events_dropped += 1
            return
        state.chars += bound_attributes(attrs, self.max_attribute_length, self.room_chars(state))
        state.span.add_event(name, attrs)
        state.events += 1

    # --- start ------------------------------------------------------------------------------
    def _on_run_start(self, run: Run) -> None:
        try:
            self._start_span(run)
        except Exception as error:
            self._failed("run start", error)

    def _start_span(self, run: Run) -> None:
        if self._traced_by_peer(run.run_id):
            return
        claim = current_claim()
        if claim is not None and not claim.take(run.run_type, run.run_id):
            claim = None
        view = self._view(run, claim)
        parent = run.parent
        pstate: SpanState | None = None if parent is None else parent.data
        if pstate is not None and not pstate.recording and (child := self._unsampled_child()) is not None:
            # The sampler drops the children of a dropped span: no name, attributes or SDK call.
            state = SpanState(child(pstate.span), False, 0, budget(self._limits()), 0)
            state.view = view
            run.data = state
        else:
            state = self._sdk_start(run, view, pstate)
        for recorder in self.recorders:
            recorder.start(run, state)
        if state.recording:
            more: Attrs = {}
            for mapper in self.mappers:
                mapper.start(run, state, more)
            state.attrs += len(more)
            self.put(state, more)
        if claim is not None and claim.activate:
            claim.token = state.attach()

    def _sdk_start(self, run: Run, view: Any, pstate: SpanState | None) -> SpanState:
        """Start the run's span through the SDK (named by the mappers, parented by its parent
        run's span or the ambient context) and keep it in ``run.data``."""
        head = self._namer.head(run, view) if self._namer is not None else None
        name, kind, attrs = head if head is not None else (run.name, SpanKind.INTERNAL, {})
        ctx: otel_context.Context | None = None
        if pstate is not None:
            ctx = pstate.context()
        elif run.parent_run_id is not None:  # a parent traced by another handler (or none)
            ctx = run_context(run.parent_run_id)
        elif self.separate_trace_from_runtime_context:
            ctx = _EMPTY_CONTEXT  # a root run starts its own trace, whatever span is current
        span: Span | None = None
        try:
            span = self._tracer.start_span(
                name, context=ctx, kind=kind, attributes=attrs, start_time=run.start_ns
            )
            state = SpanState(span, span.is_recording(), len(attrs), budget(self._limits()), 0)
            state.view = view
            run.data = state
        except BaseException as error:  # interrupted: the span must not stay open unseen
            if span is not None:
                span.end()
            elif not isinstance(error, Exception):  # inside the SDK's start: lost, but counted
                health.count("spans_interrupted")
            raise
        return state

    # --- end --------------------------------------------------------------------------------
    def _on_run_end(self, run: Run) -> None:
        state: SpanState | None = run.data
        if state is None:
            return
        span = state.span
        if getattr(span, "end_time", None) is not None:  # ended already (an end re-sent after an interrupt)
            return
        try:
            if state.recording:
                self._end_attrs(run, state)
            for recorder in self.recorders:
                recorder.end(run, state)
        except Exception as error:
            self._failed("run end", error)
        finally:
            state.ctx = None
            state.live = False
            try:
                span.end(end_time=run.end_ns)  # the run's own clock: every view shows one duration
            except Exception as error:
                self._failed("span end", error)
            except BaseException:  # an interrupt inside the SDK: end it if it did not, count it
                health.count("spans_interrupted")
                if getattr(span, "end_time", 0) is None:
                    span.end()
                raise

    def _end_attrs(self, run: Run, state: SpanState) -> None:
        attrs: Attrs = {}
        if state.pending:
            self._tokens.flush(state)
        if state.tokens:
            for mapper in self.mappers:
                mapper.streamed(run, state, attrs)
        if state.events_dropped:
            attrs[A.OTELCHAIN_EVENTS_DROPPED] = state.events_dropped
        if run.extra.get(_runs.INPUTS_AT_END) and run.run_type not in _INPUTS_AT_START:
            for mapper in self.mappers:  # a streamed chain's input, known only now
                mapper.late_input(run, state, attrs)
        error = run.error
        if error is not None and (flow := control_flow(error)) is not None:
            end_by_control_flow(self, run, state, flow, attrs)  # LangGraph pausing: not a failure
        elif error is not None:
            self._record_error(state.span, error)
            for mapper in self.mappers:
                mapper.error(run, state, error, attrs)
        else:
            end_paused(self, state, attrs)
            for mapper in self.mappers:
                mapper.end(run, state, attrs)
            if self._status_ok:
                state.span.set_status(Status(StatusCode.OK))
        self.put(state, attrs)

    def _record_error(self, span: Span, error: BaseException) -> None:
        """ERROR status and an ``exception`` event; messages and stack texts are scrubbed of
        credentials and bounded, and an exception whose ``__str__`` raises still gets both (the
        SDK's ``record_exception`` would call ``str()`` itself)."""
        etype = error_type(error)
        name = type(error).__name__
        limit = self.max_attribute_length
        try:
            frames = "".join(traceback.format_tb(error.__traceback__))
        except Exception:
            frames = ""
        if self.capture_content:
            message = truncate(scrub(error_message(error)), limit)
            description = f"{name}: {message}" if message else name
            span.set_status(Status(StatusCode.ERROR, truncate(description, 256)))
            last = f"{etype}: {message}" if message else etype
        else:
            # Exception messages often quote content (a parser quoting model output): keep only
            # the type and where it was raised.
            message = ""
            span.set_status(Status(StatusCode.ERROR, name))
            last = etype
        stack = f"Traceback (most recent call last):\n{frames}{last}" if frames else last
        span.add_event(
            "exception",
            {
                A.EXCEPTION_TYPE: etype,
                A.EXCEPTION_MESSAGE: message,
                "exception.stacktrace": truncate(scrub(stack), limit),
                "exception.escaped": "True",
            },
        )

    # --- during the run ---------------------------------------------------------------------
    def _on_run_abandoned(self, run: Run) -> None:
        health.count("runs_abandoned")

    def _on_token(self, run: Run, token: str, chunk: Any) -> None:
        state: SpanState | None = run.data
        if state is None:
            return
        if type(token) is not str:
            token = token_text(token)
        if not token:  # role, finish and tool-call chunks carry no text: not a token
            return
        try:
            index = state.tokens
            state.tokens = index + 1
            if index == 0:
                state.first_token_ns = _runs.now_ns()
                state.last_token_ns = time.perf_counter_ns()  # chunk intervals: a monotonic clock
            for recorder in self.recorders:
                recorder.token(run, state, index == 0)
            if state.recording:
                self._tokens.add(state, index, token)
        except Exception as error:
            self._failed("token", error)

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        state: SpanState | None = run.data
        if state is None or not state.recording:
            return
        try:
            get = _field
            for mapper in self.mappers:
                mapper.action(
                    run, state, get(action, "tool"), get(action, "tool_input"), str(get(action, "log") or "")
                )
        except Exception as error:
            self._failed("agent action", error)

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        state: SpanState | None = run.data
        if state is None or not state.recording:
            return
        try:
            for mapper in self.mappers:
                mapper.finish(run, state, finish)
        except Exception as error:
            self._failed("agent finish", error)

    def _on_run_event(self, run: Run, name: str, payload: dict[str, Any]) -> None:
        state: SpanState | None = run.data
        if state is None or not state.recording:
            return
        try:
            attrs: dict[str, AttributeValue] | None = None
            for mapper in self.mappers:
                attrs = mapper.event(run, state, name, payload)
                if attrs is not None:
                    break
            if attrs is not None:
                self.add_event(state, name, attrs)
        except Exception as error:
            self._failed("run event", error)


def _field(obj: Any, key: str) -> Any:
    """A field of a mapping or an object (LangChain's and otelchain's action types)."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)

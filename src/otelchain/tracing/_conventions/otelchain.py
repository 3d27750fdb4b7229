"""otelchain's own facts as a mapper: the run's type, parent run and tags, agent actions and
finishes as span attributes (``agent.action.{i}.*``), streamed-token counts, and the ``text``
and ``retry`` run events. The run id itself is the lifecycle's: every span has it."""

from __future__ import annotations

from typing import Any

from otelchain._json import is_mapping, scrub
from otelchain.callbacks._runs import Run
from otelchain.schema import AgentFinish
from otelchain.tracing import _names as A
from otelchain.tracing._conventions import openinference_values as oi
from otelchain.tracing._conventions.view import TOOL_CALL_AGENT, RunView, Settings
from otelchain.tracing._spans.lifecycle import SpanLifecycle, error_message
from otelchain.tracing._spans.mapper import Attrs, Mapper
from otelchain.tracing._spans.state import SpanState
from otelchain.tracing._spans.values import as_text, error_type, truncate

__all__ = ["OtelchainMapper", "retry_attributes"]

_END_ROOM = 24  # attribute slots kept free for a span's end attributes


def _agent_of(run: Run) -> SpanState | None:
    """The span state of the tool-calling agent a model run works for (not across a tool run)."""
    parent = run.parent
    while parent is not None and parent.run_type != "tool":
        state: SpanState | None = parent.data
        if state is not None and state.agent == TOOL_CALL_AGENT:
            return state
        parent = parent.parent
    return None


def retry_attributes(retry_state: Any, content: bool, limit: int | None) -> Attrs | None:
    """A tenacity ``RetryCallState`` as attempt, wait/idle seconds and the failure (None if
    it is not one): never the whole state, which holds the retried function and its args."""
    attempt = getattr(retry_state, "attempt_number", None)
    if type(attempt) is not int:
        return None
    attrs: Attrs = {A.RETRY_ATTEMPT: attempt}
    wait = getattr(retry_state, "upcoming_sleep", None)
    if not isinstance(wait, (int, float)) or isinstance(wait, bool):
        wait = getattr(getattr(retry_state, "next_action", None), "sleep", None)
    if isinstance(wait, (int, float)) and not isinstance(wait, bool):
        attrs[A.RETRY_WAIT_S] = float(wait)
    idle = getattr(retry_state, "idle_for", None)
    if isinstance(idle, (int, float)) and not isinstance(idle, bool):
        attrs[A.RETRY_IDLE_S] = float(idle)
    outcome = getattr(retry_state, "outcome", None)
    error: BaseException | None = None
    if outcome is not None and getattr(outcome, "failed", False):
        try:
            error = outcome.exception(timeout=0)
        except Exception:  # not a finished future: no failure to report
            error = None
    if isinstance(error, BaseException):
        attrs[A.EXCEPTION_TYPE] = error_type(error)
        if content:
            attrs[A.EXCEPTION_MESSAGE] = truncate(scrub(error_message(error)), limit)
    return attrs


class OtelchainMapper(Mapper):
    """``otelchain.*`` and ``agent.*`` attributes, and the ``text``/``retry`` events.
    ``own``: the run id and agent actions (on unless OpenInference is the only vocabulary, whose
    consumers expect exactly its attributes); ``full``: also the run's type, parent run id, tags
    and streamed-token count (facts a backend can also read from the span tree)."""

    name = "otelchain"

    def __init__(
        self, settings: Settings, lifecycle: SpanLifecycle, *, own: bool, full: bool, content: bool
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.own = own or full
        self.full = full
        self.content = content  # any content captured (action inputs are content)

    def start(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        view: RunView = state.view
        state.agent = view.agent[0]
        if self.own:
            attrs[A.OTELCHAIN_RUN_ID] = str(run.run_id)
        if not self.full:
            return
        attrs[A.OTELCHAIN_RUN_TYPE] = run.run_type
        if run.parent_run_id is not None:
            attrs[A.OTELCHAIN_PARENT_RUN_ID] = str(run.parent_run_id)
        if run.tags:
            attrs[A.OTELCHAIN_TAGS] = [str(t) for t in run.tags]

    def streamed(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        if self.full:
            attrs[A.OTELCHAIN_STREAMED_TOKENS] = state.tokens

    def end(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        if run.run_type != "llm" or not self.own:
            return
        agent = _agent_of(run)  # a model's tool calls are its agent's actions, in order
        if agent is None or not agent.recording:
            return
        for batch in getattr(run.outputs, "generations", None) or []:
            for gen in batch:
                for call in getattr(getattr(gen, "message", None), "tool_calls", None) or []:
                    self.action(run, agent, oi.get(call, "name"), oi.get(call, "args"), None)

    def action(self, run: Run, state: SpanState, tool: Any, tool_input: Any, log: str | None) -> None:
        """Append one action (``agent.action.{i}.*``) to an agent span, within its attribute budget."""
        if not self.own:
            return
        i = state.actions
        state.actions = i + 1
        limit = self.settings.limit
        attrs: Attrs = {A.AGENT_ACTION_COUNT: i + 1}
        fields = (2 if log is None else 3) if self.content else 1
        needed = fields + (1 if i == 0 else 0)
        if state.max_attrs is None or state.attrs + needed <= state.max_attrs - _END_ROOM:
            attrs[A.agent_action_attr(i, "tool")] = str(tool)
            if self.content:
                attrs[A.agent_action_attr(i, "tool_input")] = as_text(tool_input, limit)
                if log is not None:
                    attrs[A.agent_action_attr(i, "log")] = truncate(log, limit)
            state.attrs += needed
        else:  # attribute budget spent: only the count grows, the rest is counted as dropped
            state.attrs_dropped += fields
            attrs[A.OTELCHAIN_ATTRIBUTES_DROPPED] = state.attrs_dropped
        self.lifecycle.put(state, attrs)

    def finish(self, run: Run, state: SpanState, finish: AgentFinish) -> None:
        if not (self.content and self.own):
            return
        limit = self.settings.limit
        values = oi.get(finish, "return_values")
        output = values.get("output", values) if is_mapping(values) else values
        attrs: Attrs = {
            A.AGENT_FINISH_OUTPUT: as_text(output, limit),
            A.AGENT_FINISH_LOG: truncate(str(oi.get(finish, "log") or ""), limit),
        }
        state.attrs += 2
        self.lifecycle.put(state, attrs)

    def event(self, run: Run, state: SpanState, name: str, payload: dict[str, Any]) -> Attrs | None:
        if not self.full and name in (A.EVENT_TEXT, A.EVENT_RETRY):
            return None
        attrs: Attrs | None = None
        if name == A.EVENT_RETRY:
            attrs = retry_attributes(payload.get("retry_state"), self.content, self.settings.limit)
        if attrs is None:
            attrs = {}
            if self.content:
                for key, value in payload.items():
                    attrs[key] = as_text(value, self.settings.limit)
        return attrs

"""`OpenTelemetryCallbackHandler`: every run a span, nested by parent run.

Built on `RunTreeHandler`, so run state lives in one place and is dropped when the run ends.
The span of a run is parented by the span of its parent run (found by run id); a run whose
parent this handler never saw nests under the ambient OTel context. The handler never makes a
span current itself: the code executing a run does, in its own frame, through
``run_manager.activate()``, which asks :meth:`OpenTelemetryCallbackHandler.otelchain_run_context`.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from otelchain.callbacks import _runs
from otelchain.callbacks._runs import Run, RunTreeHandler
from otelchain.schema import AgentAction, AgentFinish
from otelchain.tracing import _attributes as A
from otelchain.tracing._context import Claim, current_claim, live_handlers, register, run_context
from otelchain.tracing._values import as_text, error_type, json_text, truncate

__all__ = ["DEFAULT_MAX_ATTRIBUTE_LENGTH", "OpenTelemetryCallbackHandler", "capture_content_from_env"]

logger = logging.getLogger("otelchain.tracing")

DEFAULT_MAX_ATTRIBUTE_LENGTH = 16_384
_DEFAULT_MAX_EVENTS = 128  # the SDK's default span event limit
_DEFAULT_MAX_ATTRIBUTES = 128  # the SDK's default span attribute limit
_CHUNK_SLOTS = 32  # event slots kept for coalesced token chunks (sizes double: 2, 4, 8, ...)
_MAX_MESSAGES = 32  # messages per span put as llm.*_messages attributes
_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_FALSE = frozenset({"0", "false", "no", "off"})
_AGENT_NAMES = frozenset({"agent_executor", "AgentExecutor"})
_LC_RUN_ID_PREFIX = "lc_run-"  # langchain-core's own message ids: never a provider's response id
_LEGACY_AGENT, _TOOL_CALL_AGENT = 1, 2  # how an agent span gets its actions (events / model tool calls)

_SESSION_KEYS = ("session_id", "session.id", "session", "thread_id")
_USER_KEYS = ("user_id", "user.id", "user")
_CONVERSATION_KEYS = ("conversation_id", "gen_ai.conversation.id", "thread_id", "session_id")

_REQUEST_PARAMS: tuple[tuple[str, str], ...] = (
    ("temperature", A.GEN_AI_REQUEST_TEMPERATURE),
    ("max_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("max_completion_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("max_new_tokens", A.GEN_AI_REQUEST_MAX_TOKENS),
    ("top_p", A.GEN_AI_REQUEST_TOP_P),
    ("top_k", A.GEN_AI_REQUEST_TOP_K),
    ("frequency_penalty", A.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", A.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("seed", A.GEN_AI_REQUEST_SEED),
    ("n", A.GEN_AI_REQUEST_CHOICE_COUNT),
)
_REQUEST_ATTRS = dict(_REQUEST_PARAMS)
_REQUEST_KEYS = frozenset(_REQUEST_ATTRS)
_ROLE_BY_TYPE = {
    "human": "user",
    "ai": "assistant",
    "AIMessageChunk": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "function",
}
_KIND_BY_TYPE = {
    "llm": A.KIND_LLM,
    "chain": A.KIND_CHAIN,
    "tool": A.KIND_TOOL,
    "agent": A.KIND_AGENT,
    "retriever": A.KIND_RETRIEVER,
}


def capture_content_from_env(default: bool = True) -> bool:
    """``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false`` turns content capture off."""
    value = os.environ.get(_CAPTURE_ENV)
    if value is None or not value.strip():
        return default
    return value.strip().lower() not in _FALSE


# (event cap, single-token events, max attributes) per span; None: no limit.
_Budget = tuple[int | None, int | None, int | None]


@functools.lru_cache(maxsize=64)
def _budget(limits: tuple[int | None, int | None]) -> _Budget:
    """Event budget: one slot stays free for the exception event (when there are 3 or more);
    tokens get one event each up to `singles`, then chunks of doubling size, and the last slot
    is kept for the final chunk, flushed at the end."""
    max_events, max_attrs = limits
    if max_events is None:
        return None, None, max_attrs
    cap = max_events - 1 if max_events >= 3 else max(1, max_events)
    return cap, cap - max(1, min(_CHUNK_SLOTS, cap // 2)), max_attrs


class _SpanState:
    """What the handler keeps for one live run (in ``Run.data``)."""

    __slots__ = (
        "actions",
        "agent",
        "attrs",
        "attrs_dropped",
        "cap",
        "chunk",
        "ctx",
        "events",
        "events_dropped",
        "first_token_ns",
        "max_attrs",
        "pending",
        "pending_index",
        "provider",
        "singles",
        "span",
        "tokens",
    )

    def __init__(self, span: Span, attrs: int, budget: _Budget) -> None:
        self.span = span
        self.ctx: otel_context.Context | None = None
        self.attrs = attrs  # attributes set so far (to stay within the attribute limit)
        self.attrs_dropped = 0
        self.cap, self.singles, self.max_attrs = budget
        self.events = 0
        self.events_dropped = 0
        self.tokens = 0
        self.first_token_ns = 0
        self.pending: list[str] | None = None
        self.pending_index = 0
        self.chunk = 2
        self.actions = 0
        self.agent = 0  # _LEGACY_AGENT or _TOOL_CALL_AGENT on agent spans
        self.provider: str | None = None  # gen_ai.provider.name put on an agent span


def _limits(tracer: Any) -> tuple[int | None, int | None]:
    """(max events, max attributes) per span of the tracer's provider; SDK defaults if unknown."""
    real = getattr(tracer, "_tracer", None) or tracer  # a ProxyTracer delegates once configured
    limits = getattr(real, "_span_limits", None)
    if limits is None:
        return _DEFAULT_MAX_EVENTS, _DEFAULT_MAX_ATTRIBUTES
    events = getattr(limits, "max_events", _DEFAULT_MAX_EVENTS)
    attrs = getattr(limits, "max_span_attributes", _DEFAULT_MAX_ATTRIBUTES)
    return (
        events if isinstance(events, int) or events is None else _DEFAULT_MAX_EVENTS,
        attrs if isinstance(attrs, int) or attrs is None else _DEFAULT_MAX_ATTRIBUTES,
    )


def _first(mapping: Mapping[str, Any] | None, keys: tuple[str, ...]) -> Any:
    if not mapping:
        return None
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value
    return None


def _scalar(value: Any) -> AttributeValue | None:
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _role(message: Any) -> str:
    role = getattr(message, "role", None)
    if isinstance(role, str):
        return role
    kind = getattr(message, "type", None)
    return _ROLE_BY_TYPE.get(kind, kind) if isinstance(kind, str) else "user"


# Per message prefix: the (role, content) attribute names of message 0.._MAX_MESSAGES-1.
_MESSAGE_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    prefix: tuple(
        (f"{prefix}.{i}.{A.MESSAGE_ROLE}", f"{prefix}.{i}.{A.MESSAGE_CONTENT}") for i in range(_MAX_MESSAGES)
    )
    for prefix in (A.LLM_INPUT_MESSAGES, A.LLM_OUTPUT_MESSAGES)
}


def llm_params(run: Run) -> Mapping[str, Any]:
    """A model run's invocation parameters (empty when there are none)."""
    params = run.extra.get("invocation_params")
    return params if type(params) is dict or isinstance(params, Mapping) else {}


def llm_model(run: Run, params: Mapping[str, Any]) -> str:
    """The model a model run asks for (its span is ``chat <model>``), else the run's name."""
    kwargs = run.serialized.get("kwargs")
    model = _first(params, ("model", "model_name", "deployment_name")) or _first(
        kwargs if isinstance(kwargs, Mapping) else None, ("model", "model_name")
    )
    return str(model) if model is not None else run.name


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if (type(obj) is dict or isinstance(obj, Mapping)) else getattr(obj, key, None)


def _provider(run: Run, params: Mapping[str, Any]) -> str | None:
    explicit = _first(params, ("provider", "ls_provider")) or _first(run.metadata, ("ls_provider",))
    if explicit:
        return str(explicit)
    ids = run.serialized.get("id")
    kind = str(params.get("_type") or "")
    if not isinstance(ids, list):
        return _provider_from(kind, ())
    try:
        return _provider_from(kind, tuple(ids))
    except TypeError:  # unhashable id parts: same answer, uncached
        return _provider_from.__wrapped__(kind, tuple(ids))


@functools.lru_cache(maxsize=256)
def _provider_from(kind: str, ids: tuple[Any, ...]) -> str | None:
    """The provider a model's type name or class path names (``openai``), else the type name."""
    text = f"{kind} {' '.join(map(str, ids))}".lower()
    for known in ("azure", "openai", "anthropic", "bedrock", "vertexai", "mistral", "ollama", "groq"):
        if known in text:
            return "azure.ai.openai" if known == "azure" else known
    return kind or None


_SERVER_KEYS = frozenset(
    {"server_address", "host", "server_port", "port", "base_url", "api_base", "openai_api_base", "endpoint"}
    | {"azure_endpoint"}
)


def _server(params: Mapping[str, Any], attrs: dict[str, AttributeValue]) -> None:
    if _SERVER_KEYS.isdisjoint(params):
        return
    host = _first(params, ("server_address", "host"))
    port = _first(params, ("server_port", "port"))
    url = _first(params, ("base_url", "api_base", "openai_api_base", "endpoint", "azure_endpoint"))
    if url is not None and (host is None or port is None):
        try:
            parts = urlsplit(str(url))
            host = host or parts.hostname  # never the userinfo part
            port = port or parts.port or {"https": 443, "http": 80}.get(parts.scheme)
        except ValueError:
            pass
    if isinstance(host, str) and host:
        attrs[A.SERVER_ADDRESS] = host
    if (isinstance(port, int) and not isinstance(port, bool)) or (isinstance(port, str) and port.isdigit()):
        attrs[A.SERVER_PORT] = int(port)


def _tool_call_agent_name(run: Run, claim: Claim | None) -> str | None:
    """The agent name of a chain run that is a tool-calling agent's run, else None.

    LangGraph agents built by ``langchain.agents.create_agent`` mark their runs with
    ``lc_agent_name`` (inherited by every child run, so only the outermost run carrying a given
    name is the agent); ``create_react_agent`` graphs carry no mark and are recognised by their
    structure when the graph starts (the claim's ``agent_name``).
    """
    if claim is not None and claim.agent_name:
        return claim.agent_name
    metadata = run.metadata
    name = metadata.get("lc_agent_name") if metadata else None
    if not name or not isinstance(name, str):
        return None
    parent = run.parent
    if parent is None:
        return name if run.parent_run_id is None or run.name == name else None
    pmeta = parent.metadata
    return None if pmeta and pmeta.get("lc_agent_name") == name and parent.run_type != "tool" else name


def _agent_of(run: Run) -> _SpanState | None:
    """The span state of the tool-calling agent a model run works for (not across a tool run)."""
    parent = run.parent
    while parent is not None and parent.run_type != "tool":
        state: _SpanState | None = parent.data
        if state is not None and state.agent == _TOOL_CALL_AGENT:
            return state
        parent = parent.parent
    return None


def _response_id(value: Any) -> str | None:
    """A provider's response id; langchain-core's own ``lc_run--...`` message ids are not one."""
    if not value or not isinstance(value, str) or value.startswith(_LC_RUN_ID_PREFIX):
        return None
    return value


def _token_text(token: Any) -> str:
    """The text of a streamed chunk's content (a string, or a list of content blocks)."""
    if isinstance(token, str):
        return token
    if isinstance(token, list):
        parts = []
        for block in token:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and block.get("type") == "text":
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""


class OpenTelemetryCallbackHandler(RunTreeHandler):
    """Maps each run to an OpenTelemetry span; tokens become span events.

    ``tracer_provider`` defaults to the global one (also one set later); ``capture_content``
    defaults to on unless ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false``;
    ``max_attribute_length`` truncates every text value (None: no limit). Failures inside the
    handler are logged and counted (:attr:`error_counts`), never raised into the app.
    """

    name = "opentelemetry_callback_handler"
    _extra_attributes: Callable[[Run, dict[str, AttributeValue]], None] | None = None

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        capture_content: bool | None = None,
        max_attribute_length: int | None = DEFAULT_MAX_ATTRIBUTE_LENGTH,
        *,
        tracer_name: str = "otelchain",
    ) -> None:
        super().__init__()
        from otelchain import __version__

        if max_attribute_length is not None and max_attribute_length < 16:
            raise ValueError("max_attribute_length must be at least 16 (or None for no limit)")
        self.tracer_provider = tracer_provider
        if tracer_provider is None:
            self._tracer = trace.get_tracer(tracer_name, __version__)
        else:
            self._tracer = tracer_provider.get_tracer(tracer_name, __version__)
        self.capture_content = (
            capture_content_from_env() if capture_content is None else bool(capture_content)
        )
        self.max_attribute_length = max_attribute_length
        self._limits_cache: tuple[int | None, int | None] | None = None
        self._errors: Counter[str] = Counter()
        self._errors_lock = threading.Lock()
        self.shared = False  # True for the app-wide handler of `instrument()`
        register(self)

    # --- health ---------------------------------------------------------------------------
    @property
    def error_counts(self) -> dict[str, int]:
        """How many times each hook failed inside this handler (and was survived)."""
        with self._errors_lock:
            return dict(self._errors)

    def _failed(self, where: str, error: BaseException) -> None:
        with self._errors_lock:
            self._errors[where] += 1
        logger.warning("otelchain tracing: %s failed: %s: %s", where, type(error).__name__, error)

    def _target_provider(self) -> object:
        """The provider this handler's spans go to (the global one unless it was given one)."""
        provider = self.tracer_provider
        if provider is None or getattr(provider, "otelchain_uses_global", False):
            return trace.get_tracer_provider()
        return provider

    def _traced_by_peer(self, run_id: UUID) -> bool:
        """Whether another handler of the same provider already traces this run (the shared
        handler of `instrument()` beside one the app passed in ``callbacks``): one span a run."""
        mine: object | None = None
        for peer in live_handlers():
            if peer is self:
                continue
            run = peer.runs.get(run_id)
            if run is None or run.data is None:
                continue
            if mine is None:
                mine = self._target_provider()
            if peer._target_provider() is mine:
                return True
        return False

    # --- the context protocol the run managers use ------------------------------------------
    def otelchain_run_context(self, run_id: UUID) -> otel_context.Context | None:
        """The OTel context holding this run's span (what ``rm.activate()`` makes current)."""
        run = self.runs.get(run_id)
        if run is None:
            return None
        state = run.data
        if state is None:
            return None
        ctx: otel_context.Context | None = state.ctx
        if ctx is None:
            ctx = state.ctx = trace.set_span_in_context(state.span)
        return ctx

    def span_for_run(self, run_id: UUID) -> Span | None:
        """The live span of a run, if this handler sees it."""
        run = self.runs.get(run_id)
        state: _SpanState | None = None if run is None else run.data
        return None if state is None else state.span

    # --- hooks ------------------------------------------------------------------------------
    def _on_run_start(self, run: Run) -> None:
        try:
            self._start_span(run)
        except Exception as error:
            self._failed("run start", error)

    def _on_run_end(self, run: Run) -> None:
        state: _SpanState | None = run.data
        if state is None:
            return
        span = state.span
        try:
            attrs: dict[str, AttributeValue] = {}
            if state.pending:
                self._flush_tokens(state)
            if state.tokens:
                attrs[A.OTELCHAIN_STREAMED_TOKENS] = state.tokens
                attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (state.first_token_ns - run.start_ns) / 1e9
            if state.events_dropped:
                attrs[A.OTELCHAIN_EVENTS_DROPPED] = state.events_dropped
            if run.error is not None:
                self._error_attrs(span, run.error, attrs)
            else:
                self._end_attrs(run, attrs)
                if run.run_type == "llm":
                    self._tool_call_actions(run)
            if len(attrs) > 2:
                span.set_attributes(attrs)
            else:  # cheaper than set_attributes for one or two values
                for key, value in attrs.items():
                    span.set_attribute(key, value)
        except Exception as error:
            self._failed("run end", error)
        finally:
            state.ctx = None
            try:
                span.end(end_time=run.end_ns)  # the run's own clock: every view shows one duration
            except Exception as error:
                self._failed("span end", error)

    def _on_token(self, run: Run, token: str, chunk: Any) -> None:
        state: _SpanState | None = run.data
        if state is None:
            return
        if type(token) is not str:
            token = _token_text(token)
        if not token:  # role, finish and tool-call chunks carry no text: not a token
            return
        try:
            index = state.tokens
            state.tokens = index + 1
            if index == 0:
                state.first_token_ns = _runs.now_ns()
            if state.pending is None and (state.singles is None or state.events < state.singles):
                attrs: dict[str, AttributeValue] = {A.TOKEN_INDEX: index}
                if self.capture_content:
                    attrs[A.TOKEN_TEXT] = token
                state.span.add_event(A.EVENT_NEW_TOKEN, attrs)
                state.events += 1
                return
            if state.pending is None:
                state.pending = []
                state.pending_index = index
            state.pending.append(token)
            cap = state.cap
            if len(state.pending) >= state.chunk and cap is not None and state.events + 1 < cap:
                self._flush_tokens(state)
                state.chunk *= 2
        except Exception as error:
            self._failed("token", error)

    def _flush_tokens(self, state: _SpanState) -> None:
        """Emit the buffered tokens as one ``new_token`` event with ``token.count``."""
        pending = state.pending
        if not pending:
            return
        attrs: dict[str, AttributeValue] = {A.TOKEN_INDEX: state.pending_index, A.TOKEN_COUNT: len(pending)}
        if self.capture_content:
            attrs[A.TOKEN_TEXT] = "".join(pending)
        state.span.add_event(A.EVENT_NEW_TOKEN, attrs)
        state.events += 1
        state.pending = []
        state.pending_index += len(pending)

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        state: _SpanState | None = run.data
        if state is None:
            return
        try:
            self._record_action(
                state, _get(action, "tool"), _get(action, "tool_input"), str(_get(action, "log") or "")
            )
        except Exception as error:
            self._failed("agent action", error)

    def _record_action(self, state: _SpanState, tool: Any, tool_input: Any, log: str | None) -> None:
        """Append one action (``agent.action.{i}.*``) to an agent span, within its attribute budget."""
        i = state.actions
        state.actions = i + 1
        attrs: dict[str, AttributeValue] = {A.AGENT_ACTION_COUNT: i + 1}
        fields = (2 if log is None else 3) if self.capture_content else 1
        if self._room(state, fields + (1 if i == 0 else 0)):
            attrs[A.agent_action_attr(i, "tool")] = str(tool)
            if self.capture_content:
                attrs[A.agent_action_attr(i, "tool_input")] = as_text(tool_input, self.max_attribute_length)
                if log is not None:
                    attrs[A.agent_action_attr(i, "log")] = truncate(log, self.max_attribute_length)
            state.attrs += fields + (1 if i == 0 else 0)
        else:  # attribute budget spent: only the count grows, the rest is counted as dropped
            state.attrs_dropped += fields
            attrs[A.OTELCHAIN_ATTRIBUTES_DROPPED] = state.attrs_dropped
        state.span.set_attributes(attrs)

    def _tool_call_actions(self, run: Run) -> None:
        """A model's tool calls are its agent's actions (tool-calling agents), in order."""
        agent = _agent_of(run)
        if agent is None:
            return
        for batch in getattr(run.outputs, "generations", None) or []:
            for gen in batch:
                for call in getattr(getattr(gen, "message", None), "tool_calls", None) or []:
                    self._record_action(agent, _get(call, "name"), _get(call, "args"), None)

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        state: _SpanState | None = run.data
        if state is None:
            return
        try:
            if not self.capture_content:
                return
            values = _get(finish, "return_values")
            output = values.get("output", values) if isinstance(values, Mapping) else values
            attrs: dict[str, AttributeValue] = {
                A.AGENT_FINISH_OUTPUT: as_text(output, self.max_attribute_length),
                A.AGENT_FINISH_LOG: truncate(str(_get(finish, "log") or ""), self.max_attribute_length),
            }
            state.attrs += 2
            state.span.set_attributes(attrs)
        except Exception as error:
            self._failed("agent finish", error)

    def _on_run_event(self, run: Run, name: str, payload: dict[str, Any]) -> None:
        state: _SpanState | None = run.data
        if state is None:
            return
        try:
            if state.singles is not None and state.events >= state.singles:
                state.events_dropped += 1
                return
            attrs: dict[str, AttributeValue] | None = None
            if name == A.EVENT_RETRY:
                attrs = self._retry_attrs(payload.get("retry_state"))
            if attrs is None:
                attrs = {}
                if self.capture_content:
                    for key, value in payload.items():
                        attrs[key] = as_text(value, self.max_attribute_length)
            state.span.add_event(name, attrs)
            state.events += 1
        except Exception as error:
            self._failed("run event", error)

    def _retry_attrs(self, retry_state: Any) -> dict[str, AttributeValue] | None:
        """A tenacity ``RetryCallState`` as attempt, wait/idle seconds and the failure (None if
        it is not one): never the whole state, which holds the retried function and its args."""
        attempt = getattr(retry_state, "attempt_number", None)
        if type(attempt) is not int:
            return None
        attrs: dict[str, AttributeValue] = {A.RETRY_ATTEMPT: attempt}
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
            if self.capture_content:
                try:
                    message = str(error)
                except Exception:  # a broken __str__ costs the message, not the event
                    message = ""
                attrs[A.EXCEPTION_MESSAGE] = truncate(message, self.max_attribute_length)
        return attrs

    # --- budgets ----------------------------------------------------------------------------
    def _limits(self) -> tuple[int | None, int | None]:
        """The provider's (max events, max attributes) per span, cached once it is known."""
        cached = self._limits_cache
        if cached is not None:
            return cached
        tracer = self._tracer
        real = getattr(tracer, "_tracer", tracer)  # a ProxyTracer delegates once configured
        limits = _limits(real)
        if real is not None and type(real).__name__ != "NoOpTracer" and hasattr(real, "_span_limits"):
            self._limits_cache = limits
        return limits

    @staticmethod
    def _room(state: _SpanState, n: int) -> bool:
        """Whether ``n`` more attributes fit, keeping room for the end attributes."""
        return state.max_attrs is None or state.attrs + n <= state.max_attrs - 24

    # --- span start -------------------------------------------------------------------------
    def _start_span(self, run: Run) -> None:
        if self._traced_by_peer(run.run_id):
            return
        run_type = run.run_type
        claim = current_claim()
        if claim is not None and not claim.take(run_type, run.run_id):
            claim = None
        attrs: dict[str, AttributeValue] = {
            A.OTELCHAIN_RUN_ID: str(run.run_id),
            A.OTELCHAIN_RUN_TYPE: run_type,
        }
        if run.parent_run_id is not None:
            attrs[A.OTELCHAIN_PARENT_RUN_ID] = str(run.parent_run_id)
        if run.tags:
            attrs[A.OTELCHAIN_TAGS] = [str(t) for t in run.tags]
        if run.metadata:
            self._metadata_attrs(run.metadata, attrs)
        kind = SpanKind.INTERNAL
        agent = 0
        if run_type == "llm":
            name = self._llm_start(run, attrs)
            kind = SpanKind.CLIENT
        elif run_type == "tool":
            name = self._tool_start(run, attrs)
        elif run_type == "agent" or (run_type == "chain" and run.name in _AGENT_NAMES):
            name = self._agent_start(run.name, run, attrs)
            agent = _LEGACY_AGENT
        elif run_type == "chain" and (agent_name := _tool_call_agent_name(run, claim)):
            name = self._agent_start(agent_name, run, attrs)
            agent = _TOOL_CALL_AGENT
        else:
            name = run.name
            attrs[A.OPENINFERENCE_SPAN_KIND] = _KIND_BY_TYPE.get(run_type, A.KIND_CHAIN)
            if run_type == "retriever" and isinstance(run.inputs, Mapping):
                if self.capture_content:
                    attrs[A.INPUT_VALUE] = truncate(str(run.inputs.get("query")), self.max_attribute_length)
                    attrs[A.INPUT_MIME_TYPE] = A.MIME_TEXT
            else:
                self._input_json(run.inputs, attrs)
        if self._extra_attributes is not None:
            self._extra_attributes(run, attrs)
        parent = run.parent
        ctx: otel_context.Context | None = None
        pstate: _SpanState | None = None if parent is None else parent.data
        if pstate is not None:
            ctx = pstate.ctx
            if ctx is None:
                ctx = pstate.ctx = trace.set_span_in_context(pstate.span)
        elif run.parent_run_id is not None:  # a parent traced by another handler (or none)
            ctx = run_context(run.parent_run_id)
        span = self._tracer.start_span(
            name, context=ctx, kind=kind, attributes=attrs, start_time=run.start_ns
        )
        state = run.data = _SpanState(span, len(attrs), _budget(self._limits()))
        if agent:
            state.agent = agent
        elif run_type == "llm" and A.GEN_AI_PROVIDER_NAME in attrs:
            self._agent_provider(run, str(attrs[A.GEN_AI_PROVIDER_NAME]))
        if claim is not None and claim.activate:
            claim.token = otel_context.attach(state.ctx or self._context_of(state))

    @staticmethod
    def _context_of(state: _SpanState) -> otel_context.Context:
        ctx = state.ctx = trace.set_span_in_context(state.span)
        return ctx

    def _agent_start(self, agent_name: str, run: Run, attrs: dict[str, AttributeValue]) -> str:
        attrs[A.GEN_AI_OPERATION_NAME] = A.OP_INVOKE_AGENT
        attrs[A.GEN_AI_AGENT_NAME] = agent_name
        attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_AGENT
        self._input_json(run.inputs, attrs)
        return f"{A.OP_INVOKE_AGENT} {agent_name}"

    def _agent_provider(self, run: Run, provider: str) -> None:
        """Put a model run's provider on its agent's span, once (the agent span needs one)."""
        agent = _agent_of(run)
        if agent is not None and agent.provider is None:
            agent.provider = provider
            agent.span.set_attribute(A.GEN_AI_PROVIDER_NAME, provider)
            agent.attrs += 1

    def _input_json(self, inputs: Any, attrs: dict[str, AttributeValue]) -> None:
        if self.capture_content and inputs is not None:
            attrs[A.INPUT_VALUE] = json_text(inputs, self.max_attribute_length)
            attrs[A.INPUT_MIME_TYPE] = A.MIME_JSON

    def _metadata_attrs(self, metadata: Mapping[str, Any], attrs: dict[str, AttributeValue]) -> None:
        attrs[A.OI_METADATA] = json_text(metadata, self.max_attribute_length)
        for key, keys in ((A.SESSION_ID, _SESSION_KEYS), (A.USER_ID, _USER_KEYS)):
            value = _first(metadata, keys)
            if value is not None:
                attrs[key] = str(value)
        conversation = _first(metadata, _CONVERSATION_KEYS)
        if conversation is not None:
            attrs[A.GEN_AI_CONVERSATION_ID] = str(conversation)

    def _llm_start(self, run: Run, attrs: dict[str, AttributeValue]) -> str:
        params = llm_params(run)
        model = llm_model(run, params)
        op = A.OP_CHAT if run.extra.get("is_chat_model") else A.OP_TEXT_COMPLETION
        attrs[A.GEN_AI_OPERATION_NAME] = op
        attrs[A.GEN_AI_REQUEST_MODEL] = model
        attrs[A.LLM_MODEL_NAME] = model
        attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_LLM
        provider = _provider(run, params)
        if provider:
            attrs[A.GEN_AI_PROVIDER_NAME] = provider
        for key in _REQUEST_KEYS.intersection(params):
            attr = _REQUEST_ATTRS[key]
            value = params[key]
            if value is not None and attr not in attrs:
                scalar = _scalar(value)
                if scalar is not None:
                    attrs[attr] = scalar
        stop = params.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        if isinstance(stop, (list, tuple)) and stop and all(isinstance(s, str) for s in stop):
            attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)
        if params:
            _server(params, attrs)
        if self.capture_content:
            self._llm_input(run.inputs, attrs)
        return f"{op} {model}"

    def _llm_input(self, inputs: Any, attrs: dict[str, AttributeValue]) -> None:
        """A single prompt as text; messages as ``llm.input_messages`` plus JSON."""
        prompts = inputs.get("prompts") if (type(inputs) is dict or isinstance(inputs, Mapping)) else None
        if isinstance(prompts, list) and len(prompts) == 1 and isinstance(prompts[0], str):
            attrs[A.INPUT_VALUE] = truncate(prompts[0], self.max_attribute_length)
            attrs[A.INPUT_MIME_TYPE] = A.MIME_TEXT
            return
        self._input_json(inputs, attrs)
        messages = inputs.get("messages") if (type(inputs) is dict or isinstance(inputs, Mapping)) else None
        if isinstance(messages, list) and messages and isinstance(messages[0], list):
            self._messages(A.LLM_INPUT_MESSAGES, messages[0], attrs)

    def _messages(self, prefix: str, messages: list[Any], attrs: dict[str, AttributeValue]) -> None:
        limit = self.max_attribute_length
        keys = _MESSAGE_KEYS[prefix]
        for i, message in enumerate(messages[:_MAX_MESSAGES]):
            if isinstance(message, tuple):
                role, content = message
            else:
                role, content = _role(message), getattr(message, "content", message)
            role_key, content_key = keys[i]
            attrs[role_key] = role if type(role) is str else str(role)
            attrs[content_key] = truncate(content, limit) if type(content) is str else as_text(content, limit)
            for j, call in enumerate((getattr(message, "tool_calls", None) or [])[:_MAX_MESSAGES]):
                base = f"{prefix}.{i}.{A.MESSAGE_TOOL_CALLS}.{j}."
                attrs[base + A.TOOL_CALL_FUNCTION_NAME] = str(_get(call, "name"))
                attrs[base + A.TOOL_CALL_FUNCTION_ARGUMENTS] = json_text(_get(call, "args"), limit)
                call_id = _get(call, "id")
                if call_id:
                    attrs[base + A.TOOL_CALL_ID] = str(call_id)

    def _tool_start(self, run: Run, attrs: dict[str, AttributeValue]) -> str:
        attrs[A.GEN_AI_OPERATION_NAME] = A.OP_EXECUTE_TOOL
        attrs[A.GEN_AI_TOOL_NAME] = run.name
        attrs[A.TOOL_NAME] = run.name
        attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_TOOL
        description = run.serialized.get("description")
        if isinstance(description, str) and description:
            attrs[A.GEN_AI_TOOL_DESCRIPTION] = truncate(description, self.max_attribute_length)
            attrs[A.TOOL_DESCRIPTION] = attrs[A.GEN_AI_TOOL_DESCRIPTION]
        call_id = run.extra.get("tool_call_id")
        if call_id:
            attrs[A.GEN_AI_TOOL_CALL_ID] = str(call_id)
        if self.capture_content:
            inputs = run.inputs
            if (
                (type(inputs) is dict or isinstance(inputs, Mapping))
                and set(inputs) == {"input"}
                and isinstance(inputs["input"], str)
            ):
                attrs[A.INPUT_VALUE] = truncate(inputs["input"], self.max_attribute_length)
                attrs[A.INPUT_MIME_TYPE] = A.MIME_TEXT
            else:
                self._input_json(inputs, attrs)
        return f"{A.OP_EXECUTE_TOOL} {run.name}"

    # --- span end ---------------------------------------------------------------------------
    def _end_attrs(self, run: Run, attrs: dict[str, AttributeValue]) -> None:
        outputs = run.outputs
        if run.run_type == "llm":
            self._llm_end(outputs, attrs)
            return
        if not self.capture_content or outputs is None:
            return
        if run.run_type == "tool":
            out = (
                outputs.get("output") if (type(outputs) is dict or isinstance(outputs, Mapping)) else outputs
            )
            if getattr(out, "type", None) == "tool":  # langchain-core's ToolMessage: its content
                out = getattr(out, "content", out)  # is the tool's output
            attrs[A.OUTPUT_VALUE] = as_text(out, self.max_attribute_length)
            attrs[A.OUTPUT_MIME_TYPE] = A.MIME_TEXT if isinstance(out, str) else A.MIME_JSON
        elif run.run_type == "retriever" and isinstance(outputs, Mapping):
            for i, doc in enumerate(list(outputs.get("documents") or [])[:_MAX_MESSAGES]):
                base = f"{A.RETRIEVAL_DOCUMENTS}.{i}."
                attrs[base + A.DOCUMENT_CONTENT] = as_text(
                    _get(doc, "page_content") or "", self.max_attribute_length
                )
                meta = _get(doc, "metadata")
                if meta:
                    attrs[base + A.DOCUMENT_METADATA] = json_text(meta, self.max_attribute_length)
            attrs[A.OUTPUT_VALUE] = json_text(outputs, self.max_attribute_length)
            attrs[A.OUTPUT_MIME_TYPE] = A.MIME_JSON
        else:
            attrs[A.OUTPUT_VALUE] = json_text(outputs, self.max_attribute_length)
            attrs[A.OUTPUT_MIME_TYPE] = A.MIME_JSON

    def _llm_end(self, response: Any, attrs: dict[str, AttributeValue]) -> None:
        llm_output = getattr(response, "llm_output", None)
        if type(llm_output) is not dict and not isinstance(llm_output, Mapping):
            llm_output = {}
        generations = [g for batch in (getattr(response, "generations", None) or []) for g in batch]
        usage = llm_output.get("token_usage") or llm_output.get("usage")
        prompt = completion = total = None
        if type(usage) is dict or isinstance(usage, Mapping):
            prompt = _first(usage, ("prompt_tokens", "input_tokens"))
            completion = _first(usage, ("completion_tokens", "output_tokens"))
            total = usage.get("total_tokens")
        model = _first(llm_output, ("model_name", "model"))
        response_id = _response_id(llm_output.get("id"))
        finish: list[str] = []
        messages: list[Any] = []
        for gen in generations:
            info = getattr(gen, "generation_info", None)
            reason = info.get("finish_reason") if type(info) is dict or isinstance(info, Mapping) else None
            message = getattr(gen, "message", None)
            if message is not None:
                messages.append(message)
                meta = getattr(message, "response_metadata", None)
                if type(meta) is dict or isinstance(meta, Mapping):
                    reason = reason or meta.get("finish_reason")
                    model = model or _first(meta, ("model_name", "model"))
                    response_id = response_id or _response_id(meta.get("id"))
                response_id = response_id or _response_id(getattr(message, "id", None))
                um = getattr(message, "usage_metadata", None)
                if (type(um) is dict or isinstance(um, Mapping)) and prompt is None and completion is None:
                    prompt, completion, total = (
                        um.get("input_tokens"),
                        um.get("output_tokens"),
                        um.get("total_tokens"),
                    )
            else:
                messages.append(("assistant", getattr(gen, "text", "")))
            if isinstance(reason, str):
                finish.append(reason)
        if isinstance(prompt, int):
            attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = prompt
            attrs[A.LLM_TOKEN_COUNT_PROMPT] = prompt
        if isinstance(completion, int):
            attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = completion
            attrs[A.LLM_TOKEN_COUNT_COMPLETION] = completion
        if not isinstance(total, int) and isinstance(prompt, int) and isinstance(completion, int):
            total = prompt + completion
        if isinstance(total, int):
            attrs[A.LLM_TOKEN_COUNT_TOTAL] = total
        if model:
            attrs[A.GEN_AI_RESPONSE_MODEL] = str(model)
        if response_id:
            attrs[A.GEN_AI_RESPONSE_ID] = str(response_id)
        if finish:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = finish
        if self.capture_content:
            self._messages(A.LLM_OUTPUT_MESSAGES, messages, attrs)
            self._llm_output(response, generations, attrs)

    def _llm_output(self, response: Any, generations: list[Any], attrs: dict[str, AttributeValue]) -> None:
        """One plain generation as text; anything else (tool calls, batches) as JSON."""
        if len(generations) == 1:
            message = getattr(generations[0], "message", None)
            text = getattr(generations[0], "text", None)
            if isinstance(text, str) and not getattr(message, "tool_calls", None):
                attrs[A.OUTPUT_VALUE] = truncate(text, self.max_attribute_length)
                attrs[A.OUTPUT_MIME_TYPE] = A.MIME_TEXT
                return
        attrs[A.OUTPUT_VALUE] = json_text(response, self.max_attribute_length)
        attrs[A.OUTPUT_MIME_TYPE] = A.MIME_JSON

    def _error_attrs(self, span: Span, error: BaseException, attrs: dict[str, AttributeValue]) -> None:
        etype = attrs[A.ERROR_TYPE] = error_type(error)
        name = type(error).__name__
        if self.capture_content:
            message = str(error)
            description = f"{name}: {message}" if message else name
            span.set_status(Status(StatusCode.ERROR, truncate(description, 256)))
            span.record_exception(error, escaped=True)
            return
        # Exception messages often quote content (a parser quoting model output): keep only the
        # type and where it was raised.
        span.set_status(Status(StatusCode.ERROR, name))
        frames = "".join(traceback.format_tb(error.__traceback__))
        span.record_exception(
            error,
            attributes={
                "exception.message": "",
                "exception.stacktrace": f"Traceback (most recent call last):\n{frames}{etype}",
            },
            escaped=True,
        )

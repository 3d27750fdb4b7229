"""`OpenTelemetryCallbackHandler`: every run a span, nested by parent run.

Built on `RunTreeHandler`, so run state lives in one place and is dropped when the run ends.
The span of a run is parented by the span of its parent run (found by run id); a run whose
parent this handler never saw nests under the ambient OTel context. The handler never makes a
span current itself: the code executing a run does, in its own frame, through
``run_manager.activate()``, which asks :meth:`OpenTelemetryCallbackHandler.otelchain_run_context`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from otelchain._json import is_mapping, scrub
from otelchain.callbacks import _runs
from otelchain.callbacks._runs import Run, RunTreeHandler
from otelchain.schema import AgentAction, AgentFinish
from otelchain.tracing._conventions import genai as _genai
from otelchain.tracing._conventions import names as A
from otelchain.tracing._conventions import openinference as _oi
from otelchain.tracing._setup.metrics import GenAIMetrics
from otelchain.tracing._spans import health as _health
from otelchain.tracing._spans.context import (
    Claim,
    current_claim,
    has_peers,
    live_handlers,
    register,
    run_context,
)
from otelchain.tracing._spans.values import as_text, bound_attributes, error_type, json_text, truncate

__all__ = [
    "DEFAULT_MAX_ATTRIBUTE_LENGTH",
    "DEFAULT_MAX_SPAN_LENGTH",
    "OpenTelemetryCallbackHandler",
    "capture_content_from_env",
]

logger = logging.getLogger("otelchain.tracing")

DEFAULT_MAX_ATTRIBUTE_LENGTH = 16_384
DEFAULT_MAX_SPAN_LENGTH = 512 * 1024  # characters: at most 2 MiB of UTF-8, half a default gRPC message
_DEFAULT_MAX_EVENTS = 128  # the SDK's default span event limit
_DEFAULT_MAX_ATTRIBUTES = 128  # the SDK's default span attribute limit
_CHUNK_SLOTS = 32  # event slots kept for coalesced token chunks (sizes double: 2, 4, 8, ...)
_MAX_MESSAGES = 32  # messages per span put as llm.*_messages attributes
_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_FALSE = frozenset({"0", "false", "no", "off"})
_AGENT_NAMES = frozenset({"agent_executor", "AgentExecutor"})
_LC_RUN_ID_PREFIX = "lc_run-"  # langchain-core's own message ids: never a provider's response id
_LEGACY_AGENT, _TOOL_CALL_AGENT = 1, 2  # how an agent span gets its actions (events / model tool calls)

_SESSION_KEYS = ("session_id", "session.id", "conversation_id", "thread_id")
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
_FINISH_KEYS = ("finish_reason", "stop_reason")  # OpenAI-style, Anthropic
_OWN_EVENTS = frozenset({"text", A.EVENT_RETRY})  # otelchain's run events (off without "otelchain")
_CONVENTIONS_ENV = "OTELCHAIN_CONVENTIONS"
CONVENTIONS = frozenset({"gen_ai", "openinference", "otelchain"})
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


def _conventions(value: str | Iterable[str] | None) -> frozenset[str]:
    """The naming schemes to emit: ``conventions=`` or ``OTELCHAIN_CONVENTIONS`` (comma list),
    default all of gen_ai, openinference, otelchain."""
    if value is None:
        value = os.environ.get(_CONVENTIONS_ENV, "").strip() or None
    if value is None:
        return CONVENTIONS
    names = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value)]
    chosen = frozenset(n for n in names if n)
    unknown = chosen - CONVENTIONS
    if unknown or not chosen:
        raise ValueError(
            f"conventions must be a non-empty subset of {sorted(CONVENTIONS)}, got {sorted(chosen)}"
        )
    return chosen


def _strip_userinfo(url: str) -> str:
    """A URL without the ``user:password@`` part (credentials never reach a span)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "[REDACTED]"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def _safe_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Invocation parameters for ``llm.invocation_parameters``: URL credentials removed (keys
    that look like secrets are redacted by the JSON encoder)."""
    return {
        key: _strip_userinfo(value) if isinstance(value, str) and "://" in value and "@" in value else value
        for key, value in params.items()
    }


def _lc_json(message: Any) -> Any:
    """A langchain-core message as LangChain serializes it (what OpenInference records)."""
    to_json = getattr(message, "to_json", None)
    if callable(to_json):
        try:
            return to_json()
        except Exception:  # an unusual message: fall back to the generic encoder
            return message
    return message


def _genai_json(value: Any, handler: OpenTelemetryCallbackHandler) -> str:
    """A tool argument or result as the spec's attribute value: a JSON string, a string as is."""
    if isinstance(value, str):
        return truncate(value, handler.max_attribute_length)
    return json_text(value, handler.max_attribute_length)


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
    """What the handler keeps for one live run (in ``Run.data``); all slots, since the token
    path reads and writes several of them per token."""

    __slots__ = (
        "actions",
        "agent",
        "attrs",
        "attrs_dropped",
        "before",
        "cap",
        "chars",
        "chunk",
        "ctx",
        "events",
        "events_dropped",
        "first_token_ns",
        "input_tokens",
        "last_token_ns",
        "live",
        "max_attrs",
        "metric_attrs",
        "output_tokens",
        "pending",
        "pending_chars",
        "pending_index",
        "provider",
        "singles",
        "span",
        "tokens",
    )

    def __init__(
        self,
        span: Span,
        attrs: int,
        budget: _Budget,
        chars: int,
        metric_attrs: dict[str, AttributeValue] | None,
    ) -> None:
        self.span = span
        self.live = True  # until the run's span ends
        self.ctx: otel_context.Context | None = None
        self.before: otel_context.Context | None = None  # what was current before attach()
        self.attrs = attrs  # attributes set so far (to stay within the attribute limit)
        self.attrs_dropped = 0
        self.chars = chars  # characters of text on the span so far (bounded by max_span_length)
        self.cap, self.singles, self.max_attrs = budget
        self.metric_attrs = metric_attrs  # GenAI metric attributes
        self.events = 0
        self.events_dropped = 0
        self.tokens = 0
        self.first_token_ns = 0
        self.last_token_ns = 0
        self.pending: list[str] | None = None
        self.pending_chars = 0
        self.pending_index = 0
        self.chunk = 2
        self.actions = 0
        self.agent = 0  # _LEGACY_AGENT or _TOOL_CALL_AGENT on agent spans
        self.provider: str | None = None  # gen_ai.provider.name put on an agent span
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    # --- the RunContext protocol the run managers use (otelchain.callbacks) -----------------
    def context(self) -> otel_context.Context:
        """The OTel context holding this run's span; made once, the one cache of it."""
        ctx = self.ctx
        if ctx is None:
            ctx = self.ctx = trace.set_span_in_context(self.span)
        return ctx

    def attach(self) -> object:
        """Make this run's span current (``rm.activate()``)."""
        self.before = otel_context.get_current()
        return otel_context.attach(self.context())

    def restore(self) -> None:
        """If this run's context is still current (an interrupt skipped ``detach``), make what
        was current before it current again."""
        before = self.before
        if before is not None and self.ctx is not None and otel_context.get_current() is self.ctx:
            otel_context.attach(before)

    def detach(self, token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]

    def trace_ids(self) -> tuple[str, str] | None:
        """The run's trace and span ids as hex (for ``run_info()``)."""
        sc = self.span.get_span_context()
        return ("%032x" % sc.trace_id, "%016x" % sc.span_id) if sc.is_valid else None  # noqa: UP031 (fastest)


def sdk_span_limits(tracer: Any) -> tuple[int | None, int | None] | None:
    """(max events, max attributes) per span of the SDK tracer behind ``tracer``; None when it
    is not an SDK tracer (yet). The one place otelchain reads SDK internals: the SDK has no
    public accessor for a provider's span limits (``tests/tracing/test_sdk_contract.py`` fails
    when these names change)."""
    real = getattr(tracer, "_tracer", None) or tracer  # a ProxyTracer delegates once configured
    limits = getattr(real, "_span_limits", None)
    if limits is None:
        return None
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


def llm_params(run: Run) -> Mapping[str, Any]:
    """A model run's invocation parameters (empty when there are none)."""
    params = run.extra.get("invocation_params")
    return params if is_mapping(params) else {}


def llm_model(run: Run, params: Mapping[str, Any]) -> str:
    """The model a model run asks for (its span is ``chat <model>``), else the run's name."""
    kwargs = run.serialized.get("kwargs")
    model = _first(params, ("model", "model_name", "deployment_name")) or _first(
        kwargs if is_mapping(kwargs) else None, ("model", "model_name")
    )
    if model is None:
        model = _first(run.metadata, ("ls_model_name",))
    return str(model) if model is not None else run.name


def _provider(run: Run, params: Mapping[str, Any]) -> str | None:
    explicit = _first(params, ("provider", "ls_provider")) or _first(run.metadata, ("ls_provider",))
    if explicit:
        return _GENAI_PROVIDERS.get(str(explicit).lower(), str(explicit))
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
            return _GENAI_PROVIDERS.get(known, known)
    return kind or None


# LangChain's ls_provider / class-path names -> the spec's gen_ai.provider.name values.
_GENAI_PROVIDERS = {
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "vertexai": "gcp.vertex_ai",
    "google_vertexai": "gcp.vertex_ai",
    "google_genai": "gcp.gen_ai",
    "google": "gcp.gen_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "xai": "x_ai",
    "ibm": "ibm.watsonx.ai",
}


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
            elif is_mapping(block) and block.get("type") == "text":
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""


_EMPTY_CONTEXT = otel_context.Context()


class OpenTelemetryCallbackHandler(RunTreeHandler):
    """Maps each run to an OpenTelemetry span; tokens become span events.

    ``tracer_provider`` defaults to the global one (also one set later); ``capture_content``
    defaults to on unless ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false``;
    ``max_attribute_length`` truncates every text value (None: no limit). ``conventions``
    picks the naming schemes (``gen_ai``, ``openinference``, ``otelchain``; default all, or
    ``OTELCHAIN_CONVENTIONS``); ``meter_provider`` receives the GenAI client metrics (default
    the global one); ``separate_trace_from_runtime_context`` starts every root run in a trace of
    its own instead of under the ambient span (OpenInference's option of the same name).
    Failures inside the handler are logged and counted (:attr:`error_counts`), never raised
    into the app.
    """

    name = "opentelemetry_callback_handler"

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        capture_content: bool | None = None,
        max_attribute_length: int | None = DEFAULT_MAX_ATTRIBUTE_LENGTH,
        *,
        tracer_name: str = "otelchain",
        meter_provider: MeterProvider | None = None,
        conventions: str | Iterable[str] | None = None,
        max_span_length: int | None = DEFAULT_MAX_SPAN_LENGTH,
        separate_trace_from_runtime_context: bool = False,
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
        self.conventions = _conventions(conventions)
        self._gen_ai = "gen_ai" in self.conventions
        self._oi = "openinference" in self.conventions
        self._own = "otelchain" in self.conventions
        # OTel: instrumentation leaves a successful span's status UNSET; OpenInference sets OK.
        # OK only when OpenInference is the naming scheme and the GenAI conventions are off.
        self._status_ok = not self._gen_ai
        self._masking = _oi.Masking.from_env()
        self._metrics = GenAIMetrics(meter_provider)
        # Text on one span in total: one span must never make a batch too big to send.
        self.max_span_length = max_span_length
        self._limits_cache: tuple[int | None, int | None] | None = None
        self._errors: Counter[str] = Counter()
        self._errors_lock = threading.Lock()
        self.shared = False  # True for the app-wide handler of `instrument()`
        self.separate_trace_from_runtime_context = bool(separate_trace_from_runtime_context)
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
        logger.warning("otelchain tracing: %s failed: %s", where, type(error).__name__)
        _health.count("tracer_errors")

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
    def otelchain_run_context(self, run_id: UUID) -> _SpanState | None:
        """This run's context (a `RunContext`: what ``rm.activate()`` makes current)."""
        run = self.runs.get(run_id)
        return None if run is None else run.data

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
        if getattr(span, "end_time", None) is not None:  # ended already (an end re-sent after an interrupt)
            return
        try:
            attrs: dict[str, AttributeValue] = {}
            if state.pending:
                self._flush_tokens(state)
            if state.tokens:
                if self._own:
                    attrs[A.OTELCHAIN_STREAMED_TOKENS] = state.tokens
                if self._gen_ai:
                    attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (state.first_token_ns - run.start_ns) / 1e9
                    if run.run_type == "llm":
                        attrs[A.GEN_AI_REQUEST_STREAM] = True
            if state.events_dropped:
                attrs[A.OTELCHAIN_EVENTS_DROPPED] = state.events_dropped
            if run.error is not None:
                self._error_attrs(span, run.error, attrs)
                if not self._gen_ai:  # error.type is an OTel attribute; OpenInference has none
                    attrs.pop(A.ERROR_TYPE, None)
            else:
                self._end_attrs(run, attrs)
                if run.run_type == "llm":
                    self._tool_call_actions(run)
                if self._status_ok:
                    span.set_status(Status(StatusCode.OK))
            if state.metric_attrs is not None:
                self._record_metrics(run, state, attrs)
            state.chars += bound_attributes(attrs, self.max_attribute_length, self._room_chars(state))
            if len(attrs) > 2:
                span.set_attributes(attrs)
            else:  # cheaper than set_attributes for one or two values
                for key, value in attrs.items():
                    span.set_attribute(key, value)
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
                _health.count("spans_interrupted")
                if getattr(span, "end_time", 0) is None:
                    span.end()
                raise

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
                state.last_token_ns = time.perf_counter_ns()  # chunk intervals: a monotonic clock
                if state.metric_attrs is not None:
                    self._metrics.time_to_first_chunk.record(
                        (state.first_token_ns - run.start_ns) / 1e9, state.metric_attrs
                    )
            elif state.metric_attrs is not None:
                now = time.perf_counter_ns()
                self._metrics.time_per_output_chunk.record(
                    (now - state.last_token_ns) / 1e9, state.metric_attrs
                )
                state.last_token_ns = now
            if state.pending is None and (state.singles is None or state.events < state.singles):
                attrs: dict[str, AttributeValue] = {A.TOKEN_INDEX: index}
                if self.capture_content and self._token_fits(
                    state, min(len(token), self.max_attribute_length or len(token))
                ):
                    attrs[A.TOKEN_TEXT] = truncate(
                        token if type(token) is str else str(token), self.max_attribute_length
                    )
                state.span.add_event(A.EVENT_NEW_TOKEN, attrs)
                state.events += 1
                return
            if state.pending is None:
                state.pending = []
                state.pending_index = index
            cap = state.cap
            limit = self.max_attribute_length
            if (  # a full-size chunk: flush before its text would exceed the value limit
                limit is not None
                and state.pending
                and state.pending_chars + len(token) > limit
                and cap is not None
                and state.events + 1 < cap
            ):
                self._flush_tokens(state)
            state.pending.append(token)
            state.pending_chars += len(token)
            if len(state.pending) >= state.chunk and cap is not None and state.events + 1 < cap:
                self._flush_tokens(state)
                state.chunk *= 2
        except Exception as error:
            self._failed("token", error)

    def _record_metrics(self, run: Run, state: _SpanState, attrs: Mapping[str, AttributeValue]) -> None:
        """The GenAI client metrics of a finished operation (low-cardinality attributes only)."""
        metric_attrs = state.metric_attrs
        if metric_attrs is None:
            return
        if run.error is not None:
            metric_attrs = {**metric_attrs, A.ERROR_TYPE: error_type(run.error)}
        end = run.end_ns if run.end_ns is not None else _runs.now_ns()
        self._metrics.record_operation(
            metric_attrs,
            (end - run.start_ns) / 1e9,
            input_tokens=state.input_tokens,
            output_tokens=state.output_tokens,
        )

    def _token_fits(self, state: _SpanState, n: int) -> bool:
        """Count ``n`` characters of token text against the span's total; False (and counted as
        truncated) once the span is full: the event keeps its index and count, not the text."""
        room = self._room_chars(state)
        if room is not None and n > room:
            _health.count("values_truncated")
            return False
        state.chars += n
        return True

    def _flush_tokens(self, state: _SpanState) -> None:
        """Emit the buffered tokens as ``new_token`` events with ``token.count``: one event, or
        more when their text would exceed ``max_attribute_length`` (no text is cut)."""
        pending = state.pending
        if not pending:
            return
        limit = self.max_attribute_length
        groups: list[list[str]] = [pending]
        if self.capture_content and limit is not None and sum(map(len, pending)) > limit:
            groups, size = [[]], 0
            for token in pending:
                if groups[-1] and size + len(token) > limit:
                    groups.append([])
                    size = 0
                groups[-1].append(token)
                size += len(token)
        cap = state.cap
        room = max(1, cap - state.events) if cap is not None else len(groups)
        if len(groups) > room:  # no event slot left for the rest: the last one is cut (counted)
            groups[room - 1 :] = [[t for g in groups[room - 1 :] for t in g]]
        for group in groups:
            attrs: dict[str, AttributeValue] = {A.TOKEN_INDEX: state.pending_index, A.TOKEN_COUNT: len(group)}
            text = "".join(group)
            if self.capture_content and self._token_fits(state, min(len(text), limit or len(text))):
                attrs[A.TOKEN_TEXT] = truncate(text, limit)
            state.span.add_event(A.EVENT_NEW_TOKEN, attrs)
            state.events += 1
            state.pending_index += len(group)
        state.pending = []
        state.pending_chars = 0

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        state: _SpanState | None = run.data
        if state is None:
            return
        try:
            self._record_action(
                state,
                _oi.get(action, "tool"),
                _oi.get(action, "tool_input"),
                str(_oi.get(action, "log") or ""),
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
        state.chars += bound_attributes(attrs, self.max_attribute_length, self._room_chars(state))
        state.span.set_attributes(attrs)

    def _tool_call_actions(self, run: Run) -> None:
        """A model's tool calls are its agent's actions (tool-calling agents), in order."""
        agent = _agent_of(run)
        if agent is None:
            return
        for batch in getattr(run.outputs, "generations", None) or []:
            for gen in batch:
                for call in getattr(getattr(gen, "message", None), "tool_calls", None) or []:
                    self._record_action(agent, _oi.get(call, "name"), _oi.get(call, "args"), None)

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        state: _SpanState | None = run.data
        if state is None:
            return
        try:
            if not self.capture_content:
                return
            values = _oi.get(finish, "return_values")
            output = values.get("output", values) if is_mapping(values) else values
            attrs: dict[str, AttributeValue] = {
                A.AGENT_FINISH_OUTPUT: as_text(output, self.max_attribute_length),
                A.AGENT_FINISH_LOG: truncate(str(_oi.get(finish, "log") or ""), self.max_attribute_length),
            }
            state.attrs += 2
            state.chars += bound_attributes(attrs, self.max_attribute_length, self._room_chars(state))
            state.span.set_attributes(attrs)
        except Exception as error:
            self._failed("agent finish", error)

    def _on_run_event(self, run: Run, name: str, payload: dict[str, Any]) -> None:
        state: _SpanState | None = run.data
        if state is None or (not self._own and name in _OWN_EVENTS):
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
            state.chars += bound_attributes(attrs, self.max_attribute_length, self._room_chars(state))
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
                attrs[A.EXCEPTION_MESSAGE] = truncate(scrub(_message(error)), self.max_attribute_length)
        return attrs

    # --- budgets ----------------------------------------------------------------------------
    def _limits(self) -> tuple[int | None, int | None]:
        """The provider's (max events, max attributes) per span, cached once it is known (SDK
        defaults until then)."""
        cached = self._limits_cache
        if cached is None:
            cached = sdk_span_limits(self._tracer)
            if cached is None:
                return _DEFAULT_MAX_EVENTS, _DEFAULT_MAX_ATTRIBUTES
            self._limits_cache = cached
        return cached

    def _room_chars(self, state: _SpanState) -> int | None:
        """Characters of text the span can still take (None: no total limit)."""
        total = self.max_span_length
        return None if total is None else total - state.chars

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
        attrs: dict[str, AttributeValue] = {}
        if self._own:
            attrs[A.OTELCHAIN_RUN_ID] = str(run.run_id)
            attrs[A.OTELCHAIN_RUN_TYPE] = run_type
            if run.parent_run_id is not None:
                attrs[A.OTELCHAIN_PARENT_RUN_ID] = str(run.parent_run_id)
            if run.tags:
                attrs[A.OTELCHAIN_TAGS] = [str(t) for t in run.tags]
        self._identity_attrs(run, attrs)
        kind = SpanKind.INTERNAL
        metric_attrs: dict[str, AttributeValue] | None = None
        agent = 0
        if run_type == "llm":
            name, metric_attrs = self._llm_start(run, attrs)
            kind = SpanKind.CLIENT
        elif run_type == "tool":
            name = self._tool_start(run, attrs)
            metric_attrs = {A.GEN_AI_OPERATION_NAME: A.OP_EXECUTE_TOOL}
        elif run_type == "agent" or (run_type == "chain" and run.name in _AGENT_NAMES):
            name = self._agent_start(run.name, run, attrs)
            agent = _LEGACY_AGENT
            metric_attrs = {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT}
        elif run_type == "chain" and (agent_name := _tool_call_agent_name(run, claim)):
            name = self._agent_start(agent_name, run, attrs)
            agent = _TOOL_CALL_AGENT
            metric_attrs = {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT}
        else:
            name = run.name
            template = _oi.prompt_template(run.inputs, run.serialized)
            if self._oi:
                is_prompt = run_type == "prompt"
                attrs[A.OPENINFERENCE_SPAN_KIND] = (
                    A.KIND_PROMPT if is_prompt else _KIND_BY_TYPE.get(run_type, A.KIND_CHAIN)
                )
                if template is not None and self.capture_content and not self._masking.hide_inputs:
                    attrs[A.LLM_PROMPT_TEMPLATE] = truncate(template[0], self.max_attribute_length)
                    if template[1]:
                        attrs[A.LLM_PROMPT_TEMPLATE_VARIABLES] = json_text(
                            template[1], self.max_attribute_length
                        )
            if run_type == "retriever" and is_mapping(run.inputs):
                if not self._oi:
                    pass
                elif self.capture_content and not self._masking.hide_inputs:
                    attrs[A.INPUT_VALUE] = truncate(str(run.inputs.get("query")), self.max_attribute_length)
                elif self.capture_content:
                    attrs[A.INPUT_VALUE] = _oi.REDACTED
            else:
                self._input_value(run.inputs, attrs)
        parent = run.parent
        ctx: otel_context.Context | None = None
        pstate: _SpanState | None = None if parent is None else parent.data
        if pstate is not None:
            ctx = pstate.context()
        elif run.parent_run_id is not None:  # a parent traced by another handler (or none)
            ctx = run_context(run.parent_run_id)
        elif self.separate_trace_from_runtime_context:
            ctx = _EMPTY_CONTEXT  # a root run starts its own trace, whatever span is current
        chars = bound_attributes(attrs, self.max_attribute_length, self.max_span_length)
        span: Span | None = None
        try:
            span = self._tracer.start_span(
                name, context=ctx, kind=kind, attributes=attrs, start_time=run.start_ns
            )
            state = run.data = _SpanState(span, len(attrs), _budget(self._limits()), chars, metric_attrs)
        except BaseException as error:  # interrupted: the span must not stay open unseen
            if span is not None:
                span.end()
            elif not isinstance(error, Exception):  # inside the SDK's start: lost, but counted
                _health.count("spans_interrupted")
            raise
        if agent:
            state.agent = agent
        elif run_type == "llm" and metric_attrs is not None and A.GEN_AI_PROVIDER_NAME in metric_attrs:
            self._agent_provider(run, str(metric_attrs[A.GEN_AI_PROVIDER_NAME]))
        if claim is not None and claim.activate:
            claim.token = state.attach()

    def _agent_start(self, agent_name: str, run: Run, attrs: dict[str, AttributeValue]) -> str:
        if self._gen_ai:
            attrs[A.GEN_AI_OPERATION_NAME] = A.OP_INVOKE_AGENT
            attrs[A.GEN_AI_AGENT_NAME] = agent_name
        if self._oi:
            attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_AGENT
        self._input_value(run.inputs, attrs)
        return f"{A.OP_INVOKE_AGENT} {agent_name}" if self._gen_ai else run.name

    def _agent_provider(self, run: Run, provider: str) -> None:
        """Put a model run's provider on its agent's span, once (``gen_ai.provider.name`` is
        required on ``invoke_agent`` spans), and on the agent's metrics."""
        parent = run.parent
        while parent is not None and parent.run_type != "tool":
            agent: _SpanState | None = parent.data
            if agent is not None and agent.agent:
                if agent.provider is None:
                    agent.provider = provider
                    if agent.metric_attrs is not None:
                        agent.metric_attrs[A.GEN_AI_PROVIDER_NAME] = provider
                    if self._gen_ai:
                        agent.span.set_attribute(A.GEN_AI_PROVIDER_NAME, provider)
                        agent.attrs += 1
                return
            parent = parent.parent

    def _input_json(self, inputs: Any, attrs: dict[str, AttributeValue]) -> None:
        """``input.value`` as the JSON of the whole input (what verbose mode prints)."""
        if self.capture_content and inputs is not None:
            attrs[A.INPUT_VALUE] = json_text(inputs, self.max_attribute_length)
            attrs[A.INPUT_MIME_TYPE] = A.MIME_JSON

    def _input_value(self, inputs: Any, attrs: dict[str, AttributeValue]) -> None:
        """``input.value`` as OpenInference writes it (a single-key input unwrapped)."""
        if self.capture_content:
            self._io_value(inputs, attrs, A.INPUT_VALUE, A.INPUT_MIME_TYPE, self._masking.hide_inputs)

    def _output_value(self, outputs: Any, attrs: dict[str, AttributeValue]) -> None:
        self._io_value(outputs, attrs, A.OUTPUT_VALUE, A.OUTPUT_MIME_TYPE, self._masking.hide_outputs)

    def _io_value(
        self, value: Any, attrs: dict[str, AttributeValue], key: str, mime_key: str, hidden: bool
    ) -> None:
        """An input or output value in OpenInference's form, masked by the ``OPENINFERENCE_HIDE_*``
        setting ``hidden``."""
        if not self._oi:
            return
        if hidden:
            if value:
                attrs[key] = _oi.REDACTED
            return
        converted = _oi.convert_io(value, self.max_attribute_length)
        if converted is not None:
            attrs[key] = converted[0]
            if converted[1] is not None:
                attrs[mime_key] = converted[1]

    def _identity_attrs(self, run: Run, attrs: dict[str, AttributeValue]) -> None:
        """Session, user, metadata, tags and (OpenInference) context attributes of a run."""
        context = _oi.context_attributes() if self._oi else {}
        metadata: Mapping[str, Any] = run.metadata or {}
        if context:
            for key in (A.SESSION_ID, A.USER_ID, A.LLM_PROMPT_TEMPLATE_VERSION):
                if key in context:
                    attrs[key] = context[key]
            if self.capture_content:
                for key in (A.LLM_PROMPT_TEMPLATE, A.LLM_PROMPT_TEMPLATE_VARIABLES):
                    if key in context:
                        attrs[key] = context[key]
            context_metadata = context.get(A.OI_METADATA)
            if isinstance(context_metadata, str):
                try:
                    parsed = json.loads(context_metadata)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    metadata = {**parsed, **metadata}
        if self._oi:
            if metadata:
                attrs[A.OI_METADATA] = json_text(metadata, self.max_attribute_length)
            tags = [str(t) for t in context.get(A.OI_TAGS) or ()]  # type: ignore[union-attr]
            tags.extend(str(t) for t in run.tags or () if str(t) not in tags)
            if tags:
                attrs[A.OI_TAGS] = tags
        if not metadata:
            return
        for key, keys in ((A.SESSION_ID, _SESSION_KEYS), (A.USER_ID, _USER_KEYS)):
            value = _first(metadata, keys)
            if value is not None:
                attrs[key] = str(value)
        if self._gen_ai:
            conversation = _first(metadata, _CONVERSATION_KEYS)
            if conversation is not None:
                attrs[A.GEN_AI_CONVERSATION_ID] = str(conversation)

    def _llm_start(self, run: Run, attrs: dict[str, AttributeValue]) -> tuple[str, dict[str, AttributeValue]]:
        params = llm_params(run)
        model = llm_model(run, params)
        op = A.OP_CHAT if run.extra.get("is_chat_model") else A.OP_TEXT_COMPLETION
        provider = _provider(run, params)
        metric_attrs: dict[str, AttributeValue] = {A.GEN_AI_OPERATION_NAME: op, A.GEN_AI_REQUEST_MODEL: model}
        if provider:
            metric_attrs[A.GEN_AI_PROVIDER_NAME] = provider
        if params:
            _server(params, metric_attrs)
        if self._gen_ai:
            attrs.update(metric_attrs)
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
            stream = params.get("stream", params.get("streaming"))
            if isinstance(stream, bool):
                attrs[A.GEN_AI_REQUEST_STREAM] = stream
        if self._oi:
            attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_LLM
            attrs[A.LLM_MODEL_NAME] = model
            ls_provider = _first(run.metadata, ("ls_provider",)) or provider
            if isinstance(ls_provider, str) and ls_provider:
                llm_provider, llm_system = _oi.provider_and_system(ls_provider)
                attrs[A.LLM_PROVIDER] = llm_provider
                if llm_system:
                    attrs[A.LLM_SYSTEM] = llm_system
            if params and not self._masking.hide_invocation_parameters:
                attrs[A.LLM_INVOCATION_PARAMETERS] = json_text(
                    _safe_params(params), self.max_attribute_length
                )
        if self.capture_content:
            self._llm_content(run.inputs, params, attrs)
        return (f"{op} {model}" if self._gen_ai else run.name), metric_attrs

    def _llm_input(self, inputs: Any, attrs: dict[str, AttributeValue]) -> None:
        """``input.value`` of a model run: the JSON of its prompts or messages (langchain-core
        messages as LangChain serializes them, as OpenInference records them)."""
        if self._masking.hide_inputs:
            attrs[A.INPUT_VALUE] = _oi.REDACTED
            return
        mapping = inputs if is_mapping(inputs) else None
        batches = mapping.get("messages") if mapping is not None else None
        if isinstance(batches, list) and batches and isinstance(batches[0], list):
            inputs = {
                "messages": [[_lc_json(m) for m in batch] for batch in batches if isinstance(batch, list)]
            }
        self._input_json(inputs, attrs)

    def _llm_output(self, response: Any, generations: list[Any], attrs: dict[str, AttributeValue]) -> None:
        """``output.value`` of a model run: the JSON of the whole result, as OpenInference has it."""
        attrs[A.OUTPUT_VALUE] = json_text(response, self.max_attribute_length)
        attrs[A.OUTPUT_MIME_TYPE] = A.MIME_JSON

    def _llm_content(self, inputs: Any, params: Mapping[str, Any], attrs: dict[str, AttributeValue]) -> None:
        """Prompts or messages: ``input.value``, ``llm.input_messages`` / ``llm.prompts``,
        ``gen_ai.input.messages`` / ``gen_ai.system_instructions``; and the tools offered."""
        limit = self.max_attribute_length
        masking = self._masking
        mapping = inputs if is_mapping(inputs) else {}
        prompts = mapping.get("prompts")
        batches = mapping.get("messages")
        messages: list[Any] = []
        if isinstance(batches, list) and batches and isinstance(batches[0], list):
            messages = batches[0]
        if self._oi:
            self._llm_input(inputs, attrs)
        views = [_oi.MessageView(m) for m in messages]
        if self._oi:
            if isinstance(prompts, list) and prompts and all(isinstance(p, str) for p in prompts):
                attrs[A.LLM_PROMPTS] = (
                    [_oi.REDACTED] * len(prompts)
                    if masking.hide_inputs
                    else [truncate(p, limit) for p in prompts]
                )
            if views and masking.input_messages():
                self._oi_messages(A.LLM_INPUT_MESSAGES, views, attrs, input_side=True)
            tools = params.get("tools")
            if isinstance(tools, list) and not (masking.hide_inputs or masking.hide_llm_tools):
                for i, tool in enumerate(tools[:_MAX_MESSAGES]):
                    attrs[f"{A.LLM_TOOLS}.{i}.{A.TOOL_JSON_SCHEMA}"] = json_text(tool, limit)
        if self._gen_ai and not masking.hide_inputs:
            if not views and isinstance(prompts, list) and prompts:
                views = [_oi.MessageView(("user", p)) for p in prompts[:1]]
            if views and not masking.hide_input_messages:
                system, history = _genai.input_messages(
                    views, hide_text=masking.hide_input_text, hide_images=masking.hide_input_images
                )
                if system:
                    attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS] = json_text(system, limit)
                attrs[A.GEN_AI_INPUT_MESSAGES] = json_text(history, limit)
            definitions = _genai.tool_definitions(params.get("tools"))
            if definitions and not masking.hide_llm_tools:
                attrs[A.GEN_AI_TOOL_DEFINITIONS] = json_text(definitions, limit)

    def _oi_messages(
        self,
        prefix: str,
        messages: list[_oi.MessageView],
        attrs: dict[str, AttributeValue],
        *,
        input_side: bool,
    ) -> None:
        masking = self._masking
        hide_text = masking.hide_input_text if input_side else masking.hide_output_text
        for i, message in enumerate(messages[:_MAX_MESSAGES]):
            for key, value in _oi.message_attributes(
                prefix,
                i,
                message,
                self.max_attribute_length,
                hide_text=hide_text,
                hide_images=input_side and masking.hide_input_images,
                image_max_length=masking.base64_image_max_length,
                max_items=_MAX_MESSAGES,
            ):
                attrs[key] = value

    def _tool_start(self, run: Run, attrs: dict[str, AttributeValue]) -> str:
        description = run.serialized.get("description")
        if not (isinstance(description, str) and description):
            description = None
        if self._gen_ai:
            attrs[A.GEN_AI_OPERATION_NAME] = A.OP_EXECUTE_TOOL
            attrs[A.GEN_AI_TOOL_NAME] = run.name
            attrs[A.GEN_AI_TOOL_TYPE] = A.TOOL_TYPE_FUNCTION
            if description:
                attrs[A.GEN_AI_TOOL_DESCRIPTION] = truncate(description, self.max_attribute_length)
            call_id = run.extra.get("tool_call_id")
            if call_id:
                attrs[A.GEN_AI_TOOL_CALL_ID] = str(call_id)
            if self.capture_content and not self._masking.hide_inputs:
                inputs = run.inputs
                if is_mapping(inputs) and set(inputs) == {"input"}:
                    inputs = inputs["input"]
                attrs[A.GEN_AI_TOOL_CALL_ARGUMENTS] = _genai_json(_genai.parse_arguments(inputs), self)
        if self._oi:
            attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_TOOL
            attrs[A.TOOL_NAME] = run.name
            if description:
                attrs[A.TOOL_DESCRIPTION] = truncate(description, self.max_attribute_length)
        self._input_value(run.inputs, attrs)
        return f"{A.OP_EXECUTE_TOOL} {run.name}" if self._gen_ai else run.name

    # --- span end ---------------------------------------------------------------------------
    def _end_attrs(self, run: Run, attrs: dict[str, AttributeValue]) -> None:
        outputs = run.outputs
        if run.run_type == "llm":
            self._llm_end(run, outputs, attrs)
            return
        if not self.capture_content or outputs is None:
            return
        if run.run_type == "tool":
            out = outputs.get("output") if is_mapping(outputs) else outputs
            if getattr(out, "type", None) == "tool":  # langchain-core's ToolMessage: its content
                out = getattr(out, "content", out)  # is the tool's output
            if self._gen_ai and not self._masking.hide_outputs:
                attrs[A.GEN_AI_TOOL_CALL_RESULT] = _genai_json(_genai.parse_arguments(out), self)
            self._output_value({"output": out}, attrs)
        elif run.run_type == "retriever" and is_mapping(outputs):
            hidden = self._masking.hide_outputs
            if self._oi:
                for i, doc in enumerate(list(outputs.get("documents") or [])[:_MAX_MESSAGES]):
                    base = f"{A.RETRIEVAL_DOCUMENTS}.{i}."
                    content = _oi.get(doc, "page_content")
                    if content:
                        attrs[base + A.DOCUMENT_CONTENT] = (
                            _oi.REDACTED if hidden else as_text(content, self.max_attribute_length)
                        )
                    meta = _oi.get(doc, "metadata")
                    if meta:
                        attrs[base + A.DOCUMENT_METADATA] = json_text(meta, self.max_attribute_length)
            if not self._oi:
                pass
            elif hidden:
                attrs[A.OUTPUT_VALUE] = _oi.REDACTED
            else:
                attrs[A.OUTPUT_VALUE] = json_text(outputs, self.max_attribute_length)
                attrs[A.OUTPUT_MIME_TYPE] = A.MIME_JSON
        else:
            self._output_value(outputs, attrs)

    def _llm_end(self, run: Run, response: Any, attrs: dict[str, AttributeValue]) -> None:
        llm_output = getattr(response, "llm_output", None)
        if not is_mapping(llm_output):
            llm_output = {}
        generations = [g for batch in (getattr(response, "generations", None) or []) for g in batch]
        first_batch = list((getattr(response, "generations", None) or [[]])[0] or [])
        counts = _oi.token_counts(response)
        model = _first(llm_output, ("model_name", "model"))
        response_id = _response_id(llm_output.get("id"))
        fingerprint = llm_output.get("system_fingerprint")
        finish: list[str] = []
        reasons: list[str | None] = []
        messages: list[Any] = []
        for gen in generations:
            info = getattr(gen, "generation_info", None)
            reason = _first(info, _FINISH_KEYS) if is_mapping(info) else None
            message = getattr(gen, "message", None)
            if message is not None:
                messages.append(message)
                meta = getattr(message, "response_metadata", None)
                if is_mapping(meta):
                    reason = reason or _first(meta, _FINISH_KEYS)
                    model = model or _first(meta, ("model_name", "model"))
                    response_id = response_id or _response_id(meta.get("id"))
                    fingerprint = fingerprint or meta.get("system_fingerprint")
                response_id = response_id or _response_id(getattr(message, "id", None))
            else:
                messages.append(("assistant", getattr(gen, "text", "")))
            reasons.append(str(reason) if reason is not None else None)
            if reason is not None:
                finish.append(str(reason))
        state: _SpanState | None = run.data
        if state is not None and state.metric_attrs is not None:
            if model:
                state.metric_attrs[A.GEN_AI_RESPONSE_MODEL] = str(model)
            state.input_tokens, state.output_tokens = counts.prompt, counts.completion
        if self._gen_ai:
            for key, value in (
                (A.GEN_AI_USAGE_INPUT_TOKENS, counts.prompt),
                (A.GEN_AI_USAGE_OUTPUT_TOKENS, counts.completion),
                (A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, counts.cache_read),
                (A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, counts.cache_write),
                (A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, counts.reasoning),
                (A.GEN_AI_USAGE_AUDIO_INPUT_TOKENS, counts.prompt_audio),
                (A.GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS, counts.completion_audio),
            ):
                if value is not None:
                    attrs[key] = value
            if model:
                attrs[A.GEN_AI_RESPONSE_MODEL] = str(model)
            if response_id:
                attrs[A.GEN_AI_RESPONSE_ID] = str(response_id)
            if finish:
                attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = finish
            if fingerprint:
                attrs[A.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = str(fingerprint)
        if self._oi:
            attrs.update(_oi.token_count_attributes(counts))
            if model:
                attrs[A.LLM_MODEL_NAME] = str(model)
            if first_batch and reasons and reasons[0]:
                attrs[A.LLM_FINISH_REASON] = reasons[0]
        if not self.capture_content:
            return
        masking = self._masking
        if self._oi:
            if masking.hide_outputs:
                attrs[A.OUTPUT_VALUE] = _oi.REDACTED
            else:
                self._llm_output(response, generations, attrs)
        if not masking.output_messages() or not (self._oi or self._gen_ai):
            return
        views = [_oi.MessageView(m) for m in messages]
        if self._oi and views:
            first = views[: min(len(first_batch), _MAX_MESSAGES)]
            self._oi_messages(A.LLM_OUTPUT_MESSAGES, first, attrs, input_side=False)
        if self._gen_ai:
            hide = masking.hide_output_text
            output = [
                _genai.output_message(m, r, hide_text=hide) for m, r in zip(views, reasons, strict=True)
            ]
            attrs[A.GEN_AI_OUTPUT_MESSAGES] = json_text(output, self.max_attribute_length)

    def _error_attrs(self, span: Span, error: BaseException, attrs: dict[str, AttributeValue]) -> None:
        """ERROR status, ``error.type`` and an ``exception`` event; messages and stack texts are
        scrubbed of credentials and bounded, and an exception whose ``__str__`` raises still
        gets all three (the SDK's ``record_exception`` would call ``str()`` itself)."""
        etype = attrs[A.ERROR_TYPE] = error_type(error)
        name = type(error).__name__
        limit = self.max_attribute_length
        try:
            frames = "".join(traceback.format_tb(error.__traceback__))
        except Exception:
            frames = ""
        if self.capture_content:
            message = truncate(scrub(_message(error)), limit)
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
                "exception.type": etype,
                "exception.message": message,
                "exception.stacktrace": truncate(scrub(stack), limit),
                "exception.escaped": "True",
            },
        )


def _message(error: BaseException) -> str:
    """``str(error)``, or a placeholder when its ``__str__`` raises."""
    try:
        return str(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"

"""What the lifecycle keeps for one live run's span, and the per-span limits it works within."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, StaticSampler
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, TraceFlags
from opentelemetry.util.types import AttributeValue

__all__ = ["Budget", "SpanState", "budget", "sdk_span_limits", "unsampled_child"]

DEFAULT_MAX_EVENTS = 128  # the SDK's default span event limit
DEFAULT_MAX_ATTRIBUTES = 128  # the SDK's default span attribute limit
_CHUNK_SLOTS = 32  # event slots kept for coalesced token chunks (sizes double: 2, 4, 8, ...)

# (event cap, single-token events, max attributes) per span; None: no limit.
Budget = tuple[int | None, int | None, int | None]


@functools.lru_cache(maxsize=64)
def budget(limits: tuple[int | None, int | None]) -> Budget:
    """Event budget: one slot stays free for the exception event (when there are 3 or more);
    tokens get one event each up to `singles`, then chunks of doubling size, and the last slot
    is kept for the final chunk, flushed at the end."""
    max_events, max_attrs = limits
    if max_events is None:
        return None, None, max_attrs
    cap = max_events - 1 if max_events >= 3 else max(1, max_events)
    return cap, cap - max(1, min(_CHUNK_SLOTS, cap // 2)), max_attrs


def sdk_span_limits(tracer: Any) -> tuple[int | None, int | None] | None:
    """(max events, max attributes) per span of the SDK tracer behind ``tracer``; None when it
    is not an SDK tracer (yet). One of the two places otelchain reads SDK internals (with
    `unsampled_child`): the SDK has no public accessor for a provider's span limits
    (``tests/tracing/test_sdk_contract.py`` fails when these names change)."""
    real = _real(tracer)
    limits = getattr(real, "_span_limits", None)
    if limits is None:
        return None
    events = getattr(limits, "max_events", DEFAULT_MAX_EVENTS)
    attrs = getattr(limits, "max_span_attributes", DEFAULT_MAX_ATTRIBUTES)
    return (
        events if isinstance(events, int) or events is None else DEFAULT_MAX_EVENTS,
        attrs if isinstance(attrs, int) or attrs is None else DEFAULT_MAX_ATTRIBUTES,
    )


def _real(tracer: Any) -> Any:
    return getattr(tracer, "_tracer", None) or tracer  # a ProxyTracer delegates once configured


def unsampled_child(tracer: Any) -> Callable[[Span], Span] | None:
    """How the SDK tracer behind ``tracer`` starts the child of a local span it dropped, when
    its sampler decides that without looking (``ParentBased`` with the default ``ALWAYS_OFF``
    for such children: the SDK's default sampler): a non-recording span with a new id, the
    parent's trace and trace state, exactly what ``start_span`` would return, without the name,
    attributes and sampler call it needs. None when the sampler may decide otherwise or the
    tracer is not an SDK tracer (yet); ``tests/tracing/test_sdk_contract.py`` pins the names."""
    real = _real(tracer)
    sampler = getattr(real, "sampler", None)
    ids = getattr(real, "id_generator", None)
    if not isinstance(sampler, ParentBased) or ids is None:
        return None
    delegate = getattr(sampler, "_local_parent_not_sampled", None)
    if type(delegate) is not StaticSampler or getattr(delegate, "_decision", None) is not Decision.DROP:
        return None
    new_id = ids.generate_span_id

    def child(parent: Span) -> Span:
        sc = parent.get_span_context()
        return NonRecordingSpan(SpanContext(sc.trace_id, new_id(), False, _NOT_SAMPLED, sc.trace_state))

    return child


_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)


class SpanState:
    """One live run's span (in ``Run.data``) and its bookkeeping; all slots, since the token
    path reads and writes several of them per token. ``recording`` is False for a span the
    sampler dropped: then only parenting, the end and the metrics run for it."""

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
        "paused",
        "pending",
        "pending_chars",
        "pending_index",
        "provider",
        "recording",
        "singles",
        "span",
        "tokens",
        "view",
    )

    def __init__(self, span: Span, recording: bool, attrs: int, budget: Budget, chars: int) -> None:
        self.span = span
        self.recording = recording
        self.live = True  # until the run's span ends
        self.view: Any = None  # the conventions' view of the run (built on first use)
        self.ctx: otel_context.Context | None = None
        self.before: otel_context.Context | None = None  # what was current before attach()
        self.attrs = attrs  # attributes set so far (to stay within the attribute limit)
        self.attrs_dropped = 0
        self.chars = chars  # characters of text on the span so far (bounded by max_span_length)
        self.cap, self.singles, self.max_attrs = budget
        self.metric_attrs: dict[str, AttributeValue] | None = None  # GenAI metric attributes
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
        self.agent = 0  # LEGACY_AGENT or TOOL_CALL_AGENT on agent spans
        self.provider: str | None = None  # gen_ai.provider.name put on an agent span
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.paused: Any = None  # the interrupt a child run ended with (`control_flow`)

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

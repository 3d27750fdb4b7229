"""Streamed tokens as ``new_token`` span events, within the span's event budget.

A token gets an event of its own until ``state.singles`` events are used; later tokens are
buffered and flushed in chunks of doubling size (``token.count`` says how many), and the last
slot is kept for the final chunk, flushed at the run's end. No token text is ever cut to fit
an event: a chunk whose text would pass ``max_attribute_length`` is split instead.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.util.types import AttributeValue

from otelchain._json import is_mapping
from otelchain.tracing._names import EVENT_NEW_TOKEN, TOKEN_COUNT, TOKEN_INDEX, TOKEN_TEXT
from otelchain.tracing._spans import health
from otelchain.tracing._spans.state import SpanState
from otelchain.tracing._spans.values import truncate

__all__ = ["TokenEvents", "token_text"]


def token_text(token: Any) -> str:
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


class TokenEvents:
    """Writes a run's tokens as events; ``text`` says whether their text is captured."""

    __slots__ = ("max_length", "max_span_length", "text")

    def __init__(self, text: bool, max_length: int | None, max_span_length: int | None) -> None:
        self.text = text
        self.max_length = max_length
        self.max_span_length = max_span_length

    def fits(self, state: SpanState, n: int) -> bool:
        """Count ``n`` characters of token text against the span's total; False (and counted as
        truncated) once the span is full: the event keeps its index and count, not the text."""
        total = self.max_span_length
        if total is not None and n > total - state.chars:
            health.count("values_truncated")
            return False
        state.chars += n
        return True

    def add(self, state: SpanState, index: int, token: str) -> None:
        """Record token number ``index``: an event of its own, or into the pending chunk."""
        limit = self.max_length
        if state.pending is None and (state.singles is None or state.events < state.singles):
            attrs: dict[str, AttributeValue] = {TOKEN_INDEX: index}
            if self.text and self.fits(state, min(len(token), limit or len(token))):
                attrs[TOKEN_TEXT] = truncate(token, limit)
            state.span.add_event(EVENT_NEW_TOKEN, attrs)
            state.events += 1
            return
        if state.pending is None:
            state.pending = []
            state.pending_index = index
        cap = state.cap
        if (  # a full-size chunk: flush before its text would exceed the value limit
            limit is not None
            and state.pending
            and state.pending_chars + len(token) > limit
            and cap is not None
            and state.events + 1 < cap
        ):
            self.flush(state)
        state.pending.append(token)
        state.pending_chars += len(token)
        if len(state.pending) >= state.chunk and cap is not None and state.events + 1 < cap:
            self.flush(state)
            state.chunk *= 2

    def flush(self, state: SpanState) -> None:
        """Emit the buffered tokens as ``new_token`` events with ``token.count``: one event, or
        more when their text would exceed ``max_attribute_length`` (no text is cut)."""
        pending = state.pending
        if not pending:
            return
        limit = self.max_length
        groups: list[list[str]] = [pending]
        if self.text and limit is not None and sum(map(len, pending)) > limit:
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
            attrs: dict[str, AttributeValue] = {TOKEN_INDEX: state.pending_index, TOKEN_COUNT: len(group)}
            text = "".join(group)
            if self.text and self.fits(state, min(len(text), limit or len(text))):
                attrs[TOKEN_TEXT] = truncate(text, limit)
            state.span.add_event(EVENT_NEW_TOKEN, attrs)
            state.events += 1
            state.pending_index += len(group)
        state.pending = []
        state.pending_chars = 0

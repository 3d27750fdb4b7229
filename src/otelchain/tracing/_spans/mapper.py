"""The seam between the span lifecycle and the vocabularies it writes.

A `Mapper` turns one run into attributes of one naming scheme (GenAI, OpenInference,
otelchain's own); the lifecycle calls its hooks only for spans the sampler records. A
`Recorder` sees every run, recorded or not (the GenAI metrics). `Content` says where message
content may go (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from otelchain._options import FALSE, TRUE, report_env

if TYPE_CHECKING:
    from otelchain.callbacks._runs import Run
    from otelchain.schema import AgentFinish
    from otelchain.tracing._spans.state import SpanState

__all__ = ["CAPTURE_ENV", "Content", "Head", "Mapper", "Recorder", "content_from_env"]

logger = logging.getLogger("otelchain.tracing")

Attrs = dict[str, AttributeValue]
# A span's name, kind and the attributes a sampler should see at its start.
Head = tuple[str, SpanKind, Attrs]

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_MODES = {
    "NO_CONTENT": (False, False),
    "SPAN_ONLY": (True, False),
    "EVENT_ONLY": (False, True),
    "SPAN_AND_EVENT": (True, True),
    # the earlier boolean spelling, kept as aliases (every otelchain boolean's spellings)
    **{alias.upper(): (True, False) for alias in TRUE},
    **{alias.upper(): (False, False) for alias in FALSE},
}
_VALID_MODES = "one of NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT (or true/false)"


@dataclass(frozen=True)
class Content:
    """Where message content is recorded: on span attributes (``span``) and/or on the
    ``gen_ai.client.inference.operation.details`` event (``event``)."""

    span: bool = True
    event: bool = False

    @property
    def any(self) -> bool:
        """Whether any content is captured (token text, exception messages, action inputs)."""
        return self.span or self.event

    @classmethod
    def of(cls, capture: bool | str | None, default: bool = True) -> Content:
        """From ``capture_content=`` (a bool, a mode name, or None for the environment)."""
        if capture is None:
            return content_from_env(default)
        if isinstance(capture, str):
            mode = _MODES.get(capture.strip().upper())
            if mode is None:
                raise ValueError(f"capture_content must be a bool or {_VALID_MODES}, got {capture!r}")
            return cls(*mode)
        if not isinstance(capture, bool):
            raise TypeError(f"capture_content must be a bool or {_VALID_MODES}, got {type(capture).__name__}")
        return cls(capture, False)


def content_from_env(default: bool = True) -> Content:
    """The content mode ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for: one of
    ``NO_CONTENT``, ``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT`` (``true``/``false`` also
    read); unset: ``default`` (span only). Anything else captures nothing, with one warning: a
    misspelt attempt to turn capture off must not export prompts (opentelemetry-util-genai's rule)."""
    value = os.environ.get(CAPTURE_ENV, "").strip()
    if not value:
        return Content(default, False)
    mode = _MODES.get(value.upper())
    if mode is None:
        report_env(CAPTURE_ENV, value, _VALID_MODES, "NO_CONTENT (no content is captured)", logger)
        return Content(False, False)
    return Content(*mode)


class Mapper:
    """One vocabulary: hooks that add its attributes for a recorded span. Every hook is
    optional; ``attrs`` is written straight to the span after the lifecycle bounds it."""

    name = ""
    # Whether a successful span gets status OK (OpenInference: True), stays UNSET (OTel: False),
    # or None: no opinion.
    status_ok: bool | None = None

    def head(self, run: Run, state_view: Any) -> Head | None:
        """The span's name, kind and sampler-visible attributes, if this vocabulary names spans."""
        return None

    def start(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        """Attributes known when the run starts."""

    def end(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        """Attributes of a run that succeeded."""

    def error(self, run: Run, state: SpanState, error: BaseException, attrs: Attrs) -> None:
        """Attributes of a run that failed (status and the exception event are the lifecycle's)."""

    def late_input(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        """The run's input, which arrived only with its end event (a streamed langchain-core
        chain starts with a placeholder input)."""

    def streamed(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        """Attributes of a run that streamed ``state.tokens`` tokens (at its end)."""

    def action(self, run: Run, state: SpanState, tool: Any, tool_input: Any, log: str | None) -> None:
        """An agent chose an action (a tool and its input)."""

    def finish(self, run: Run, state: SpanState, finish: AgentFinish) -> None:
        """An agent finished."""

    def event(self, run: Run, state: SpanState, name: str, payload: dict[str, Any]) -> Attrs | None:
        """The attributes of a run event this vocabulary records (None: not recorded by it)."""
        return None


class Recorder:
    """Sees every run, recorded by the sampler or not (metrics are not sampled)."""

    def start(self, run: Run, state: SpanState) -> None:
        """A run started."""

    def token(self, run: Run, state: SpanState, first: bool) -> None:
        """A model run streamed a token."""

    def end(self, run: Run, state: SpanState) -> None:
        """A run ended (``run.error`` set when it failed)."""

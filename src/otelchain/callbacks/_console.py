"""Verbose mode: LangChain's console format, rendered from OpenTelemetry spans.

[chain/start] [1:chain:agent_executor > 2:chain:llm_chain] Entering Chain run with input:
{ ...json... }
[llm/end] [1:chain:agent_executor > 2:chain:llm_chain > 3:llm:openai] [1.20s] Exiting LLM run with output:

`ConsoleCallbackHandler` is the OpenTelemetry handler wired to its own tracer provider, whose
console span processor prints a line when a span starts and ends, so the console shows exactly
what an exporter would send.
"""

from __future__ import annotations

import threading
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from otelchain.callbacks._runs import Run
from otelchain.tracing._attributes import MIME_JSON, OTELCHAIN_RUN_NAME, OUTPUT_MIME_TYPE, OUTPUT_VALUE
from otelchain.tracing._handler import OpenTelemetryCallbackHandler
from otelchain.tracing._values import json_text

if TYPE_CHECKING:
    from opentelemetry import context as otel_context

    from otelchain.schema import AgentAction, AgentFinish
    from otelchain.tracing._console import ConsoleSpanProcessor

__all__ = ["ConsoleCallbackHandler", "default_console_handler"]


class ConsoleCallbackHandler(OpenTelemetryCallbackHandler):
    """Prints every run's start, end, error and agent action to a stream (stdout by default).

    Runs become spans of a private tracer provider (always sampled, content always captured,
    nothing exported) whose console processor prints the lines. Colours are used only when the
    stream is a terminal and ``NO_COLOR`` is unset.

    Its spans are never made current (``otelchain_run_context`` returns None): they belong to a
    provider nothing exports, so as ambient parents they would orphan the spans of the app's
    real tracing (httpx, a user's spans, the OTel handler) and leak unexported trace ids to
    downstream services through propagation. Verbose output needs no current span.
    """

    name = "console_callback_handler"

    def __init__(self, stream: IO[str] | None = None, *, color: bool | None = None) -> None:
        from opentelemetry.sdk.trace import SpanLimits, TracerProvider
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON

        from otelchain.tracing._console import ConsoleSpanProcessor

        self.processor: ConsoleSpanProcessor = ConsoleSpanProcessor(stream, color=color)
        limits = SpanLimits(max_attributes=10_000, max_events=10_000, max_attribute_length=10_000_000)
        provider = TracerProvider(sampler=ALWAYS_ON, span_limits=limits, shutdown_on_exit=False)
        provider.add_span_processor(self.processor)
        super().__init__(tracer_provider=provider, capture_content=True, max_attribute_length=None)

    @staticmethod
    def _extra_attributes(run: Run, attrs: dict[str, Any]) -> None:
        """The run name, for the breadcrumbs (``1:chain:llm_chain``)."""
        attrs[OTELCHAIN_RUN_NAME] = run.name

    def _llm_input(self, inputs: Any, attrs: dict[str, Any]) -> None:
        """Always the JSON of the run's inputs (``{"prompts": [...]}``), as LangChain prints."""
        self._input_json(inputs, attrs)

    def _llm_output(self, response: Any, generations: list[Any], attrs: dict[str, Any]) -> None:
        """Always the JSON of the whole ``LLMResult`` (generations and token usage)."""
        attrs[OUTPUT_VALUE] = json_text(response, None)
        attrs[OUTPUT_MIME_TYPE] = MIME_JSON

    @property
    def stream(self) -> IO[str]:
        return self.processor.stream

    def otelchain_run_context(self, run_id: UUID) -> otel_context.Context | None:
        """None: console spans never become the current span (see the class docstring)."""
        return None

    def _on_token(self, run: Run, token: str, chunk: Any) -> None:
        """Tokens are not printed in verbose mode (the LLM end line has the whole output)."""

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        super()._on_agent_action(run, action)
        state = run.data
        if state is not None:
            try:
                self.processor.print_agent_action(state.span, state.actions - 1)
            except Exception as error:
                self._failed("console agent action", error)

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        super()._on_agent_finish(run, finish)
        state = run.data
        if state is not None:
            try:
                self.processor.print_agent_finish(state.span)
            except Exception as error:
                self._failed("console agent finish", error)


_default: ConsoleCallbackHandler | None = None
_default_lock = threading.Lock()


def default_console_handler() -> ConsoleCallbackHandler:
    """The one console handler that ``verbose=True`` and ``OTELCHAIN_VERBOSE`` add."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ConsoleCallbackHandler()
        return _default

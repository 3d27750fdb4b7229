"""pytest plugin: OpenInference's LangChain test suite with otelchain's handler installed instead.

Loaded by ``measure.py`` (``-p otelchain_swap``). ``LangChainInstrumentor.instrument()`` keeps
its contract (a tracer provider, an optional ``TraceConfig``) but installs
`otelchain.tracing.OpenTelemetryCallbackHandler` exactly the way OpenInference installs its own
tracer: wrapping ``BaseCallbackManager.__init__`` so every langchain-core callback manager gets
the handler as an inheritable handler. ``TraceConfig`` masking is handed over through the
``OPENINFERENCE_HIDE_*`` variables, which is how otelchain reads it. Test-side helpers
(``get_span``, ``run_map``) are answered from the handler's own run tree.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import langchain_core.callbacks
from openinference.instrumentation import TraceConfig
from openinference.instrumentation import langchain as oi_langchain
from opentelemetry import trace
from opentelemetry.trace import Span
from wrapt import wrap_function_wrapper

from otelchain.tracing import OpenTelemetryCallbackHandler

CONVENTIONS = os.environ.get("OTELCHAIN_SWAP_CONVENTIONS") or None
MAX_LENGTH = os.environ.get("OTELCHAIN_SWAP_MAX_ATTRIBUTE_LENGTH") or None

# TraceConfig field -> the environment variable OpenInference (and otelchain) read it from.
_CONFIG_ENV = {
    "hide_inputs": "OPENINFERENCE_HIDE_INPUTS",
    "hide_outputs": "OPENINFERENCE_HIDE_OUTPUTS",
    "hide_input_messages": "OPENINFERENCE_HIDE_INPUT_MESSAGES",
    "hide_output_messages": "OPENINFERENCE_HIDE_OUTPUT_MESSAGES",
    "hide_input_images": "OPENINFERENCE_HIDE_INPUT_IMAGES",
    "hide_input_text": "OPENINFERENCE_HIDE_INPUT_TEXT",
    "hide_output_text": "OPENINFERENCE_HIDE_OUTPUT_TEXT",
    "hide_llm_invocation_parameters": "OPENINFERENCE_HIDE_LLM_INVOCATION_PARAMETERS",
    "hide_llm_tools": "OPENINFERENCE_HIDE_LLM_TOOLS",
    "base64_image_max_length": "OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH",
}


class _RunMap:
    """``tracer.run_map.get(str(run_id))`` as OpenInference's helpers read it."""

    def __init__(self, handler: OpenTelemetryCallbackHandler) -> None:
        self._handler = handler

    def get(self, key: str) -> Any:
        try:
            return self._handler.runs.get(UUID(key))
        except ValueError:
            return None


class SwappedHandler(OpenTelemetryCallbackHandler):
    """otelchain's handler, answering the two lookups OpenInference's public helpers make."""

    def get_span(self, run_id: UUID) -> Span | None:
        """The live run's span, read through the handler's public run context (the one
        ``rm.activate()`` makes current)."""
        context = self.otelchain_run_context(run_id)
        if context is None:
            return None
        token = context.attach()
        try:
            return trace.get_current_span()
        finally:
            context.detach(token)

    @property
    def run_map(self) -> _RunMap:
        return _RunMap(self)


@contextmanager
def _config_env(config: TraceConfig | None) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in _CONFIG_ENV.values()}
    try:
        if config is not None:
            for field, name in _CONFIG_ENV.items():
                value = getattr(config, field, None)
                if value is not None:
                    os.environ[name] = str(value).lower() if isinstance(value, bool) else str(value)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _instrument(self: Any, **kwargs: Any) -> None:
    provider = kwargs.get("tracer_provider") or trace.get_tracer_provider()
    options: dict[str, Any] = {}
    if CONVENTIONS:
        options["conventions"] = CONVENTIONS
    if MAX_LENGTH:
        options["max_attribute_length"] = None if MAX_LENGTH == "none" else int(MAX_LENGTH)
    if kwargs.get("separate_trace_from_runtime_context"):
        options["separate_trace_from_runtime_context"] = True
    with _config_env(kwargs.get("config")):
        handler = SwappedHandler(provider, **options)
    self._tracer = handler
    self._original_callback_manager_init = langchain_core.callbacks.BaseCallbackManager.__init__
    wrap_function_wrapper(
        "langchain_core.callbacks",
        "BaseCallbackManager.__init__",
        oi_langchain._BaseCallbackManagerInit(handler),
    )


oi_langchain.LangChainInstrumentor._instrument = _instrument


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark the tests that depend on a tracer's spans (the ones the measure counts): those that
    take the suite's ``in_memory_span_exporter`` fixture as an argument."""
    import inspect

    for item in items:
        try:
            parameters = inspect.signature(item.function).parameters
        except (TypeError, ValueError, AttributeError):
            continue
        if "in_memory_span_exporter" in parameters:
            item.user_properties.append(("span_dependent", "1"))

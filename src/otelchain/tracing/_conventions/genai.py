"""The OTel GenAI semantic conventions as a mapper: span names, operations, models, usage,
cost, messages, tools, agents and workflows (a root chain or graph: ``invoke_workflow``)
(``gen_ai.*``), and, in the lean default, only what a backend cannot
derive from them: a span kind and input/output for runs GenAI has no attribute for (chains,
prompts, retrievers), in the OpenInference names Phoenix reads.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from otelchain._json import is_mapping
from otelchain.callbacks._runs import Run
from otelchain.tracing import _names as A
from otelchain.tracing._conventions import genai_messages as messages
from otelchain.tracing._conventions.cost import Cost, call_cost
from otelchain.tracing._conventions.openinference_values import MessageView
from otelchain.tracing._conventions.view import RunView, Settings, first
from otelchain.tracing._spans.mapper import Attrs, Head, Mapper
from otelchain.tracing._spans.state import SpanState
from otelchain.tracing._spans.values import as_text, error_type, json_text, truncate

# Adds one event to a span within its limits (`SpanLifecycle.add_event`).
Emit = Callable[[SpanState, str, Attrs], None]

__all__ = ["GenAIMapper", "cost_of", "latest_experimental", "provider_of", "server_attributes"]

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
_CONVERSATION_KEYS = ("conversation_id", "gen_ai.conversation.id", "thread_id", "session_id")
_KIND_BY_TYPE = {"chain": A.KIND_CHAIN, "retriever": A.KIND_RETRIEVER, "prompt": A.KIND_PROMPT}

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


def provider_of(view: RunView) -> str | None:
    """``gen_ai.provider.name`` of a model run: its declared provider, else the one its type
    name or class path names."""
    explicit = view.ls_provider
    if explicit:
        return _GENAI_PROVIDERS.get(explicit.lower(), explicit)
    run = view.run
    ids = run.serialized.get("id")
    kind = str(view.params.get("_type") or "")
    if not isinstance(ids, list):
        return _provider_from(kind, ())
    try:
        return _provider_from(kind, tuple(ids))
    except TypeError:  # unhashable id parts: same answer, uncached
        return _provider_from.__wrapped__(kind, tuple(ids))


@functools.lru_cache(maxsize=256)
def _provider_from(kind: str, ids: tuple[Any, ...]) -> str | None:
    text = f"{kind} {' '.join(map(str, ids))}".lower()
    for known in ("azure", "openai", "anthropic", "bedrock", "vertexai", "mistral", "ollama", "groq"):
        if known in text:
            return _GENAI_PROVIDERS.get(known, known)
    return kind or None


def cost_of(view: RunView) -> Cost | None:
    """A finished model run's cost (`otelchain.tracing._conventions.cost`), computed once for the
    span and the metric."""

    def build() -> Cost | None:
        response = view.response
        return call_cost(
            view.settings.cost,
            provider_of(view),
            response.model or view.model,
            response.counts,
            response.provider_cost,
            view.run.start_ns,
        )

    cost: Cost | None = view.text("cost", build)
    return cost


def server_attributes(params: Mapping[str, Any], attrs: dict[str, AttributeValue]) -> None:
    """``server.address`` and ``server.port`` from a model's parameters (never URL userinfo)."""
    if _SERVER_KEYS.isdisjoint(params):
        return
    host = first(params, ("server_address", "host"))
    port = first(params, ("server_port", "port"))
    url = first(params, ("base_url", "api_base", "openai_api_base", "endpoint", "azure_endpoint"))
    if url is not None and (host is None or port is None):
        try:
            parts = urlsplit(str(url))
            host = host or parts.hostname
            port = port or parts.port or {"https": 443, "http": 80}.get(parts.scheme)
        except ValueError:
            pass
    if isinstance(host, str) and host:
        attrs[A.SERVER_ADDRESS] = host
    if (isinstance(port, int) and not isinstance(port, bool)) or (isinstance(port, str) and port.isdigit()):
        attrs[A.SERVER_PORT] = int(port)


def _scalar(value: Any) -> AttributeValue | None:
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


class GenAIMapper(Mapper):
    """``gen_ai.*`` attributes. ``lean``: also the span kind and input/output of runs GenAI has
    no attribute for (on when OpenInference, which writes those itself, is off). ``events``:
    content goes on the ``gen_ai.client.inference.operation.details`` event."""

    name = "gen_ai"
    status_ok = False  # OTel instrumentation leaves a successful span's status UNSET

    def __init__(self, settings: Settings, *, lean: bool, events: Emit | None, latest: bool = False) -> None:
        self.settings = settings
        self.lean = lean
        # Content on the details event: added through the lifecycle (``events``), which holds it
        # to the span's event count and text budget like every other event.
        self.events = events
        self.latest = latest  # the newest experimental names (`latest_experimental`)

    def head(self, run: Run, view: RunView) -> Head:
        run_type = run.run_type
        if run_type == "llm":
            op, model = view.operation, view.model
            attrs: Attrs = {A.GEN_AI_OPERATION_NAME: op, A.GEN_AI_REQUEST_MODEL: model}
            provider = provider_of(view)
            if provider:
                attrs[A.GEN_AI_PROVIDER_NAME] = provider
            return f"{op} {model}", SpanKind.CLIENT, attrs
        if run_type == "tool":
            return (
                f"{A.OP_EXECUTE_TOOL} {run.name}",
                SpanKind.INTERNAL,
                {A.GEN_AI_OPERATION_NAME: A.OP_EXECUTE_TOOL},
            )
        kind, agent = view.agent
        if kind:
            attrs = {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT, A.GEN_AI_AGENT_NAME: str(agent)}
            return f"{A.OP_INVOKE_AGENT} {agent}", SpanKind.INTERNAL, attrs
        if run_type == "chain" and run.parent_run_id is None:  # a root chain or graph: a workflow
            attrs = {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_WORKFLOW, A.GEN_AI_WORKFLOW_NAME: run.name}
            return f"{A.OP_INVOKE_WORKFLOW} {run.name}", SpanKind.INTERNAL, attrs
        return run.name, SpanKind.INTERNAL, {}

    # --- start ------------------------------------------------------------------------------
    def start(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        view: RunView = state.view
        metadata = run.metadata
        if metadata:
            conversation = first(metadata, _CONVERSATION_KEYS)
            if conversation is not None:
                attrs[A.GEN_AI_CONVERSATION_ID] = str(conversation)
        run_type = run.run_type
        if run_type == "llm":
            self._model_start(view, state, attrs)
        elif run_type == "tool":
            self._tool_start(run, attrs)
        elif not view.agent[0]:
            if self.lean:
                attrs[A.OPENINFERENCE_SPAN_KIND] = _KIND_BY_TYPE.get(run_type, A.KIND_CHAIN)
                view.put_io(attrs, outputs=False)
        else:
            self._agent_input(run, attrs)
            if self.lean:
                view.put_io(attrs, outputs=False)

    def _agent_input(self, run: Run, attrs: Attrs) -> None:
        """An agent's input as ``gen_ai.input.messages`` (and ``gen_ai.system_instructions``)."""
        settings = self.settings
        masking = settings.masking
        if not settings.content or masking.hide_inputs or masking.hide_input_messages:
            return
        views = messages.agent_messages(run.inputs, output=False)
        if views:
            system, history = messages.input_messages(
                views,
                hide_text=masking.hide_input_text,
                hide_images=masking.hide_input_images,
                image_max=masking.base64_image_max_length,
            )
            if system:
                attrs[A.GEN_AI_SYSTEM_INSTRUCTIONS] = json_text(system, settings.limit, masking.image_limit)
            attrs[A.GEN_AI_INPUT_MESSAGES] = json_text(history, settings.limit, masking.image_limit)

    def _model_start(self, view: RunView, state: SpanState, attrs: Attrs) -> None:
        params = view.params
        if params:
            server_attributes(params, attrs)
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
        if self.settings.content:
            attrs.update(self._input_content(view))
        self._agent_provider(view, state)

    def _input_content(self, view: RunView) -> Attrs:
        """``gen_ai.system_instructions``, ``gen_ai.input.messages`` and ``gen_ai.tool.definitions``
        (built once per span: the span and the details event share them)."""
        built: Attrs = view.text("gen_ai.input", lambda: self._build_input(view))
        return built

    def _build_input(self, view: RunView) -> Attrs:
        out: Attrs = {}
        masking, limit = self.settings.masking, self.settings.limit
        if masking.hide_inputs:
            return out
        views = view.messages
        if not views and view.prompts:
            views = [MessageView(("user", p)) for p in view.prompts[:1]]
        if views and not masking.hide_input_messages:
            system, history = messages.input_messages(
                views,
                hide_text=masking.hide_input_text,
                hide_images=masking.hide_input_images,
                image_max=masking.base64_image_max_length,
            )
            if system:
                out[A.GEN_AI_SYSTEM_INSTRUCTIONS] = json_text(system, limit, masking.image_limit)
            out[A.GEN_AI_INPUT_MESSAGES] = json_text(history, limit, masking.image_limit)
        definitions = messages.tool_definitions(view.params.get("tools"))
        if definitions and not masking.hide_llm_tools:
            out[A.GEN_AI_TOOL_DEFINITIONS] = json_text(definitions, limit)
        return out

    def _agent_provider(self, view: RunView, state: SpanState) -> None:
        """Put a model run's provider on its agent's span, once (``gen_ai.provider.name`` is
        required on ``invoke_agent`` spans)."""
        provider = provider_of(view)
        parent = view.run.parent
        while provider and parent is not None and parent.run_type != "tool":
            agent: SpanState | None = parent.data
            if agent is not None and agent.agent:
                if agent.provider is None and agent.recording:
                    agent.provider = provider
                    agent.span.set_attribute(A.GEN_AI_PROVIDER_NAME, provider)
                    agent.attrs += 1
                return
            parent = parent.parent

    def _tool_start(self, run: Run, attrs: Attrs) -> None:
        limit = self.settings.limit
        attrs[A.GEN_AI_TOOL_NAME] = run.name
        attrs[A.GEN_AI_TOOL_TYPE] = A.TOOL_TYPE_FUNCTION
        description = run.serialized.get("description")
        if isinstance(description, str) and description:
            attrs[A.GEN_AI_TOOL_DESCRIPTION] = truncate(description, limit)
        call_id = run.extra.get("tool_call_id")
        if call_id:
            attrs[A.GEN_AI_TOOL_CALL_ID] = str(call_id)
        agent = _enclosing_agent(run)
        if agent is not None:
            attrs[A.GEN_AI_AGENT_NAME] = agent
        if self.settings.content and not self.settings.masking.hide_inputs:
            inputs = run.inputs
            if is_mapping(inputs) and set(inputs) == {"input"}:
                inputs = inputs["input"]
            attrs[A.GEN_AI_TOOL_CALL_ARGUMENTS] = as_text(messages.parse_arguments(inputs), limit)

    # --- end --------------------------------------------------------------------------------
    def late_input(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        if self.lean:
            state.view.put_io(attrs, outputs=False)

    def streamed(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (state.first_token_ns - run.start_ns) / 1e9
        if run.run_type == "llm":
            attrs[A.GEN_AI_REQUEST_STREAM] = True

    def error(self, run: Run, state: SpanState, error: BaseException, attrs: Attrs) -> None:
        attrs[A.ERROR_TYPE] = error_type(error)

    def end(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        view: RunView = state.view
        run_type = run.run_type
        if run_type == "llm":
            self._model_end(view, state, attrs)
            return
        settings = self.settings
        if not settings.content or run.outputs is None:
            return
        if run_type == "tool":
            if not settings.masking.hide_outputs:
                attrs[A.GEN_AI_TOOL_CALL_RESULT] = as_text(
                    messages.parse_arguments(tool_output(run.outputs)), settings.limit
                )
            return
        if self.lean:
            view.put_io(attrs, outputs=True)
        if view.agent[0] and settings.masking.output_messages():
            views = messages.agent_messages(run.outputs, output=True)  # the agent's answer
            if views:
                hide = settings.masking.hide_output_text
                answer = [messages.output_message(v, "stop", hide_text=hide) for v in views]
                attrs[A.GEN_AI_OUTPUT_MESSAGES] = json_text(answer, settings.limit)

    def _model_end(self, view: RunView, state: SpanState, attrs: Attrs) -> None:
        response = view.response
        counts = response.counts
        for key, value in (
            (A.GEN_AI_USAGE_INPUT_TOKENS, counts.prompt),
            (A.GEN_AI_USAGE_OUTPUT_TOKENS, counts.completion),
            (A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, counts.cache_read),
            (
                A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS
                if self.latest
                else A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
                counts.cache_write,
            ),
            (A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, counts.reasoning),
            (A.GEN_AI_USAGE_AUDIO_INPUT_TOKENS, counts.prompt_audio),
            (A.GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS, counts.completion_audio),
        ):
            if value is not None:
                attrs[key] = value
        if response.model:
            attrs[A.GEN_AI_RESPONSE_MODEL] = response.model
        if response.id:
            attrs[A.GEN_AI_RESPONSE_ID] = response.id
        if response.finish:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = response.finish
        if response.fingerprint:
            attrs[A.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = response.fingerprint
        cost = cost_of(view)
        if cost is not None:
            attrs[A.GEN_AI_USAGE_COST_AMOUNT] = cost.amount
            attrs[A.GEN_AI_USAGE_COST_CURRENCY] = cost.currency
            attrs[A.GEN_AI_USAGE_COST_SOURCE] = cost.source
        output = self._output_content(view) if self.settings.content or self.events else {}
        if self.settings.content:
            attrs.update(output)
        if self.events:
            details: Attrs = {A.GEN_AI_OPERATION_NAME: view.operation, A.GEN_AI_REQUEST_MODEL: view.model}
            details.update(self._input_content(view))
            details.update(output)
            self.events(state, A.EVENT_INFERENCE_DETAILS, details)

    def _output_content(self, view: RunView) -> Attrs:
        masking = self.settings.masking
        if not masking.output_messages():
            return {}
        response = view.response
        output = [
            messages.output_message(m, r, hide_text=masking.hide_output_text)
            for m, r in zip(response.views, response.reasons, strict=True)
        ]
        return {A.GEN_AI_OUTPUT_MESSAGES: json_text(output, self.settings.limit)}


def _enclosing_agent(run: Run) -> str | None:
    """The name of the nearest agent run above a tool run (the agent that called it), else None."""
    parent = run.parent
    while parent is not None:
        state: SpanState | None = parent.data
        if state is not None and state.agent and state.view is not None:
            name = state.view.agent[1]
            return str(name) if name else None
        parent = parent.parent
    return None


def latest_experimental() -> bool:
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` asks for ``gen_ai_latest_experimental``: the
    newest experimental GenAI names where they rename what otelchain emits by default."""
    value = os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
    return "gen_ai_latest_experimental" in {v.strip().lower() for v in value.split(",")}


def tool_output(outputs: Any) -> Any:
    """A tool run's output (langchain-core's ToolMessage: its content)."""
    out = outputs.get("output") if is_mapping(outputs) else outputs
    if getattr(out, "type", None) == "tool":
        out = getattr(out, "content", out)
    return out

"""OpenInference's names as a mapper: span kinds, input/output values, flattened messages,
token counts, tools, documents, prompt templates and context attributes (what Arize and older
Phoenix releases read). Names checked against ``openinference-semantic-conventions``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from otelchain._json import is_mapping
from otelchain.callbacks._runs import Run
from otelchain.tracing import _names as A
from otelchain.tracing._conventions import openinference_values as oi
from otelchain.tracing._conventions.genai import provider_of, tool_output
from otelchain.tracing._conventions.view import RunView, Settings, first
from otelchain.tracing._spans.mapper import Attrs, Mapper
from otelchain.tracing._spans.state import SpanState
from otelchain.tracing._spans.values import as_text, json_text, truncate

__all__ = ["OpenInferenceMapper"]

_MAX_MESSAGES = 32  # messages per span put as llm.*_messages attributes
_SESSION_KEYS = ("session_id", "session.id", "conversation_id", "thread_id")
_USER_KEYS = ("user_id", "user.id", "user")
_KIND_BY_TYPE = {
    "llm": A.KIND_LLM,
    "chain": A.KIND_CHAIN,
    "tool": A.KIND_TOOL,
    "agent": A.KIND_AGENT,
    "retriever": A.KIND_RETRIEVER,
    "prompt": A.KIND_PROMPT,
}


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
    """Invocation parameters without URL credentials (secret-looking keys are redacted by the
    JSON encoder)."""
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


class OpenInferenceMapper(Mapper):
    """The full OpenInference attribute set; successful spans get status OK, as its
    instrumentors set."""

    name = "openinference"
    status_ok = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # --- start ------------------------------------------------------------------------------
    def start(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        view: RunView = state.view
        self._identity(run, attrs)
        run_type = run.run_type
        agent = view.agent[0]
        if run_type == "llm":
            attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_LLM
            self._model_start(view, attrs)
        elif run_type == "tool":
            attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_TOOL
            attrs[A.TOOL_NAME] = run.name
            description = run.serialized.get("description")
            if isinstance(description, str) and description:
                attrs[A.TOOL_DESCRIPTION] = truncate(description, self.settings.limit)
            view.put_io(attrs, outputs=False)
        elif agent:
            attrs[A.OPENINFERENCE_SPAN_KIND] = A.KIND_AGENT
            view.put_io(attrs, outputs=False)
        else:
            attrs[A.OPENINFERENCE_SPAN_KIND] = _KIND_BY_TYPE.get(run_type, A.KIND_CHAIN)
            self._chain_start(run, view, attrs)

    def late_input(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        state.view.put_io(attrs, outputs=False)

    def _chain_start(self, run: Run, view: RunView, attrs: Attrs) -> None:
        settings = self.settings
        template = oi.prompt_template(run.inputs, run.serialized)
        if template is not None and settings.content and not settings.masking.hide_inputs:
            attrs[A.LLM_PROMPT_TEMPLATE] = truncate(template[0], settings.limit)
            if template[1]:
                attrs[A.LLM_PROMPT_TEMPLATE_VARIABLES] = json_text(template[1], settings.limit)
        if run.run_type == "retriever" and is_mapping(run.inputs):
            if settings.content and not settings.masking.hide_inputs:
                attrs[A.INPUT_VALUE] = truncate(str(run.inputs.get("query")), settings.limit)
            elif settings.content:
                attrs[A.INPUT_VALUE] = oi.REDACTED
        else:
            view.put_io(attrs, outputs=False)

    def _identity(self, run: Run, attrs: Attrs) -> None:
        """Session, user, metadata, tags and the context attributes ``using_attributes`` set."""
        context = oi.context_attributes()
        metadata: Mapping[str, Any] = run.metadata or {}
        if context:
            for key in (A.SESSION_ID, A.USER_ID, A.LLM_PROMPT_TEMPLATE_VERSION):
                if key in context:
                    attrs[key] = context[key]
            if self.settings.content:
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
        if metadata:
            attrs[A.OI_METADATA] = json_text(metadata, self.settings.limit)
        tags = [str(t) for t in context.get(A.OI_TAGS) or ()]  # type: ignore[union-attr]
        tags.extend(str(t) for t in run.tags or () if str(t) not in tags)
        if tags:
            attrs[A.OI_TAGS] = tags
        if run.metadata:  # the run's own metadata names its session over the context's
            for key, keys in ((A.SESSION_ID, _SESSION_KEYS), (A.USER_ID, _USER_KEYS)):
                value = first(run.metadata, keys)
                if value is not None:
                    attrs[key] = str(value)

    def _model_start(self, view: RunView, attrs: Attrs) -> None:
        settings = self.settings
        masking, limit = settings.masking, settings.limit
        attrs[A.LLM_MODEL_NAME] = view.model
        ls_provider = view.ls_provider or provider_of(view)
        if ls_provider:
            llm_provider, llm_system = oi.provider_and_system(ls_provider)
            attrs[A.LLM_PROVIDER] = llm_provider
            if llm_system:
                attrs[A.LLM_SYSTEM] = llm_system
        params = view.params
        if params and not masking.hide_invocation_parameters:
            attrs[A.LLM_INVOCATION_PARAMETERS] = json_text(_safe_params(params), limit)
        if not settings.content:
            return
        inputs = view.run.inputs
        if masking.hide_inputs:
            attrs[A.INPUT_VALUE] = oi.REDACTED
        else:
            if view.raw_messages:
                batches = inputs.get("messages") if is_mapping(inputs) else None
                inputs = {
                    "messages": [[_lc_json(m) for m in b] for b in batches or () if isinstance(b, list)]
                }
            if inputs is not None:
                attrs[A.INPUT_VALUE] = json_text(inputs, limit, masking.image_limit)
                attrs[A.INPUT_MIME_TYPE] = A.MIME_JSON
        prompts = view.prompts
        if prompts:
            attrs[A.LLM_PROMPTS] = (
                [oi.REDACTED] * len(prompts) if masking.hide_inputs else [truncate(p, limit) for p in prompts]
            )
        if view.messages and masking.input_messages():
            self._messages(A.LLM_INPUT_MESSAGES, view.messages, attrs, input_side=True)
        tools = params.get("tools")
        if isinstance(tools, list) and not (masking.hide_inputs or masking.hide_llm_tools):
            for i, tool in enumerate(tools[:_MAX_MESSAGES]):
                attrs[f"{A.LLM_TOOLS}.{i}.{A.TOOL_JSON_SCHEMA}"] = json_text(tool, limit)

    def _messages(
        self, prefix: str, messages: list[oi.MessageView], attrs: Attrs, *, input_side: bool
    ) -> None:
        masking = self.settings.masking
        hide_text = masking.hide_input_text if input_side else masking.hide_output_text
        for i, message in enumerate(messages[:_MAX_MESSAGES]):
            for key, value in oi.message_attributes(
                prefix,
                i,
                message,
                self.settings.limit,
                hide_text=hide_text,
                hide_images=input_side and masking.hide_input_images,
                image_max_length=masking.base64_image_max_length,
                max_items=_MAX_MESSAGES,
            ):
                attrs[key] = value

    # --- end --------------------------------------------------------------------------------
    def end(self, run: Run, state: SpanState, attrs: Attrs) -> None:
        view: RunView = state.view
        run_type = run.run_type
        settings = self.settings
        if run_type == "llm":
            self._model_end(view, attrs)
            return
        outputs = run.outputs
        if not settings.content or outputs is None:
            return
        if run_type == "tool":
            out = tool_output(outputs)
            value = oi.convert_io({"output": out}, settings.limit)
            if settings.masking.hide_outputs:
                if out:
                    attrs[A.OUTPUT_VALUE] = oi.REDACTED
            elif value is not None:
                attrs[A.OUTPUT_VALUE] = value[0]
                if value[1] is not None:
                    attrs[A.OUTPUT_MIME_TYPE] = value[1]
        elif run_type == "retriever" and is_mapping(outputs):
            self._documents(outputs, attrs)
        else:
            view.put_io(attrs, outputs=True)

    def _documents(self, outputs: Mapping[str, Any], attrs: Attrs) -> None:
        hidden, limit = self.settings.masking.hide_outputs, self.settings.limit
        for i, doc in enumerate(list(outputs.get("documents") or [])[:_MAX_MESSAGES]):
            base = f"{A.RETRIEVAL_DOCUMENTS}.{i}."
            content = oi.get(doc, "page_content")
            if content:
                attrs[base + A.DOCUMENT_CONTENT] = oi.REDACTED if hidden else as_text(content, limit)
            meta = oi.get(doc, "metadata")
            if meta:
                attrs[base + A.DOCUMENT_METADATA] = json_text(meta, limit)
        if hidden:
            attrs[A.OUTPUT_VALUE] = oi.REDACTED
        else:
            attrs[A.OUTPUT_VALUE] = json_text(outputs, limit)
            attrs[A.OUTPUT_MIME_TYPE] = A.MIME_JSON

    def _model_end(self, view: RunView, attrs: Attrs) -> None:
        response = view.response
        attrs.update(oi.token_count_attributes(response.counts))
        if response.model:
            attrs[A.LLM_MODEL_NAME] = response.model
        if response.first_batch and response.reasons and response.reasons[0]:
            attrs[A.LLM_FINISH_REASON] = response.reasons[0]
        settings = self.settings
        if not settings.content:
            return
        masking = settings.masking
        if masking.hide_outputs:
            attrs[A.OUTPUT_VALUE] = oi.REDACTED
        else:
            attrs[A.OUTPUT_VALUE] = json_text(view.run.outputs, settings.limit)
            attrs[A.OUTPUT_MIME_TYPE] = A.MIME_JSON
        views = response.views
        if masking.output_messages() and views:
            first_views = views[: min(response.first_batch, _MAX_MESSAGES)]
            self._messages(A.LLM_OUTPUT_MESSAGES, first_views, attrs, input_side=False)

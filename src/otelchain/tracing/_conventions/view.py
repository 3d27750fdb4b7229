"""`RunView`: one run read once, lazily, for every vocabulary that writes it.

Mappers never read a run's raw shapes themselves: they ask the view for the model, the
provider, the messages, the usage, the tool calls, and for JSON texts, each computed on first
use and kept for the span's life, so two mappers asking for the same fact cost one computation.
A span the sampler drops never builds anything but its name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from otelchain._json import is_mapping
from otelchain.callbacks._runs import Run
from otelchain.tracing import _names as A
from otelchain.tracing._conventions import openinference_values as oi
from otelchain.tracing._conventions.cost import provider_cost
from otelchain.tracing._spans.context import Claim

__all__ = [
    "LEGACY_AGENT",
    "TOOL_CALL_AGENT",
    "Masking",
    "RunView",
    "Settings",
    "first",
    "tool_call_agent_name",
]

LEGACY_AGENT, TOOL_CALL_AGENT = 1, 2  # how an agent span gets its actions (events / model tool calls)
_AGENT_NAMES = frozenset({"agent_executor", "AgentExecutor"})
_LC_RUN_ID_PREFIX = "lc_run-"  # langchain-core's own message ids: never a provider's response id
_FINISH_KEYS = ("finish_reason", "stop_reason")  # OpenAI-style, Anthropic
Masking = oi.Masking
_T = TypeVar("_T")


class _lazy(Generic[_T]):
    """``functools.cached_property`` without its lock: Python 3.11 takes one on every first
    read, and a view's reads are nearly all first reads (a view lives for one span)."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, obj: None, owner: type) -> _lazy[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> _T: ...
    def __get__(self, obj: object | None, owner: type) -> _lazy[_T] | _T:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)  # later reads find it in the instance
        return value


class Settings:
    """What every mapper of one handler shares: the value limit, whether content goes on span
    attributes, and the ``OPENINFERENCE_HIDE_*`` masking."""

    __slots__ = ("content", "cost", "limit", "masking")

    def __init__(
        self, limit: int | None, content: bool, masking: oi.Masking, cost: bool | None = None
    ) -> None:
        self.limit = limit
        self.content = content
        self.masking = masking
        self.cost = cost  # price model calls (None: configure(cost=...) or OTELCHAIN_COST decides)


def first(mapping: Mapping[str, Any] | None, keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` with a non-empty value in ``mapping``."""
    if not mapping:
        return None
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value
    return None


def _response_id(value: Any) -> str | None:
    """A provider's response id; langchain-core's own ``lc_run--...`` message ids are not one."""
    if not value or not isinstance(value, str) or value.startswith(_LC_RUN_ID_PREFIX):
        return None
    return value


def tool_call_agent_name(run: Run, claim: Claim | None) -> str | None:
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


class _Response:
    """What a model run's result says: generations, usage, model, id, finish reasons."""

    def __init__(self, response: Any) -> None:
        llm_output = getattr(response, "llm_output", None)
        if not is_mapping(llm_output):
            llm_output = {}
        batches = getattr(response, "generations", None) or []
        self.generations = [g for batch in batches for g in batch]
        self.first_batch = len(list((batches or [[]])[0] or []))
        self.counts = oi.token_counts(response)
        model = first(llm_output, ("model_name", "model"))
        response_id = _response_id(llm_output.get("id"))
        fingerprint = llm_output.get("system_fingerprint")
        self.finish: list[str] = []
        self.reasons: list[str | None] = []
        self.messages: list[Any] = []
        self.provider_cost: float | None = None
        for gen in self.generations:
            info = getattr(gen, "generation_info", None)
            reason = first(info, _FINISH_KEYS) if is_mapping(info) else None
            message = getattr(gen, "message", None)
            if message is not None:
                self.messages.append(message)
                meta = getattr(message, "response_metadata", None)
                if is_mapping(meta):
                    reason = reason or first(meta, _FINISH_KEYS)
                    model = model or first(meta, ("model_name", "model"))
                    response_id = response_id or _response_id(meta.get("id"))
                    fingerprint = fingerprint or meta.get("system_fingerprint")
                response_id = response_id or _response_id(getattr(message, "id", None))
            else:
                self.messages.append(("assistant", getattr(gen, "text", "")))
            self.reasons.append(str(reason) if reason is not None else None)
            if reason is not None:
                self.finish.append(str(reason))
        self.model = str(model) if model else None
        first_meta = getattr(self.messages[0], "response_metadata", None) if self.messages else None
        reported = provider_cost(llm_output, first_meta)
        self.provider_cost = reported.amount if reported is not None else None
        self.id = str(response_id) if response_id else None
        self.fingerprint = str(fingerprint) if fingerprint else None

    @_lazy
    def views(self) -> list[oi.MessageView]:
        return [oi.MessageView(m) for m in self.messages]


class RunView:
    """The facts of one run that the vocabularies share, each computed on first use."""

    def __init__(self, run: Run, claim: Claim | None, settings: Settings) -> None:
        self.run = run
        self.settings = settings
        self._claim_agent = claim.agent_name if claim is not None else None
        self._texts: dict[str, Any] = {}

    def text(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()`` once per span and key (a JSON text two vocabularies both write)."""
        texts = self._texts
        if key not in texts:
            texts[key] = build()
        return texts[key]

    # --- what kind of run ---------------------------------------------------------------------
    @_lazy
    def agent(self) -> tuple[int, str | None]:
        """(LEGACY_AGENT or TOOL_CALL_AGENT, agent name) for an agent's run, else (0, None)."""
        run = self.run
        if run.run_type == "agent" or (run.run_type == "chain" and run.name in _AGENT_NAMES):
            return LEGACY_AGENT, run.name
        if run.run_type == "chain":
            name = self._claim_agent or tool_call_agent_name(run, None)
            if name:
                return TOOL_CALL_AGENT, name
        return 0, None

    # --- model runs -------------------------------------------------------------------------
    @_lazy
    def params(self) -> Mapping[str, Any]:
        """A model run's invocation parameters (empty when there are none)."""
        params = self.run.extra.get("invocation_params")
        return params if is_mapping(params) else {}

    @_lazy
    def model(self) -> str:
        """The model a model run asks for (its span is ``chat <model>``), else the run's name."""
        return llm_model(self.run, self.params)

    @_lazy
    def operation(self) -> str:
        return A.OP_CHAT if self.run.extra.get("is_chat_model") else A.OP_TEXT_COMPLETION

    @_lazy
    def ls_provider(self) -> str | None:
        value = first(self.params, ("provider", "ls_provider")) or first(self.run.metadata, ("ls_provider",))
        return str(value) if value else None

    @_lazy
    def prompts(self) -> list[str] | None:
        inputs = self.run.inputs
        prompts = inputs.get("prompts") if is_mapping(inputs) else None
        if isinstance(prompts, list) and prompts and all(isinstance(p, str) for p in prompts):
            return prompts
        return None

    @_lazy
    def raw_messages(self) -> list[Any]:
        """The first batch of a chat model run's input messages."""
        inputs = self.run.inputs
        batches = inputs.get("messages") if is_mapping(inputs) else None
        if isinstance(batches, list) and batches and isinstance(batches[0], list):
            return batches[0]
        return []

    @_lazy
    def messages(self) -> list[oi.MessageView]:
        return [oi.MessageView(m) for m in self.raw_messages]

    @_lazy
    def response(self) -> _Response:
        return _Response(self.run.outputs)

    # --- inputs and outputs -------------------------------------------------------------------
    def io(self, outputs: bool) -> tuple[str, str | None] | None:
        """The run's input or output value and its mime type, as OpenInference writes them."""
        data = self.run.outputs if outputs else self.run.inputs
        settings = self.settings
        images = None if outputs else settings.masking.image_limit
        # keyed by the object too: a streamed run's input is replaced when the run ends
        key = f"{'output' if outputs else 'input'}:{id(data)}"
        value: tuple[str, str | None] | None = self.text(
            key, lambda: oi.convert_io(data, settings.limit, images)
        )
        return value

    def put_io(self, attrs: dict[str, Any], *, outputs: bool) -> None:
        """``input.value`` / ``output.value`` and their mime type into ``attrs`` (content only;
        ``__REDACTED__`` for a value that ``OPENINFERENCE_HIDE_INPUTS`` / ``_OUTPUTS`` hides)."""
        settings = self.settings
        if not settings.content:
            return
        key = A.OUTPUT_VALUE if outputs else A.INPUT_VALUE
        masking = settings.masking
        if masking.hide_outputs if outputs else masking.hide_inputs:
            if self.run.outputs if outputs else self.run.inputs:
                attrs[key] = oi.REDACTED
            return
        converted = self.io(outputs)
        if converted is not None:
            attrs[key] = converted[0]
            if converted[1] is not None:
                attrs[A.OUTPUT_MIME_TYPE if outputs else A.INPUT_MIME_TYPE] = converted[1]


def llm_model(run: Run, params: Mapping[str, Any]) -> str:
    """The model a model run asks for, else the run's name (also the console's label)."""
    kwargs = run.serialized.get("kwargs")
    model = first(params, ("model", "model_name", "deployment_name")) or first(
        kwargs if is_mapping(kwargs) else None, ("model", "model_name")
    )
    if model is None:
        model = first(run.metadata, ("ls_model_name",))
    return str(model) if model is not None else run.name


def llm_params(run: Run) -> Mapping[str, Any]:
    """A model run's invocation parameters (empty when there are none)."""
    params = run.extra.get("invocation_params")
    return params if is_mapping(params) else {}

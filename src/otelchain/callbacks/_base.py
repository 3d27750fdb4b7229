"""Callback handler base classes.

Event names and keyword arguments follow LangChain Python, so one handler class works with
otelchain and with langchain-core. Every method is a no-op by default.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

if TYPE_CHECKING:
    from otelchain.schema import AgentAction, AgentFinish, BaseMessage, LLMResult

__all__ = ["AsyncCallbackHandler", "BaseCallbackHandler", "JS_EVENT_NAMES", "EVENT_NAMES"]

# LangChain JS names every event `handleXxx`; map them onto Python's `on_xxx`.
JS_EVENT_NAMES: Mapping[str, str] = {
    "handleLLMStart": "on_llm_start",
    "handleChatModelStart": "on_chat_model_start",
    "handleLLMNewToken": "on_llm_new_token",
    "handleLLMEnd": "on_llm_end",
    "handleLLMError": "on_llm_error",
    "handleChainStart": "on_chain_start",
    "handleChainEnd": "on_chain_end",
    "handleChainError": "on_chain_error",
    "handleToolStart": "on_tool_start",
    "handleToolEnd": "on_tool_end",
    "handleToolError": "on_tool_error",
    "handleAgentAction": "on_agent_action",
    "handleAgentEnd": "on_agent_finish",
    "handleAgentFinish": "on_agent_finish",
    "handleRetrieverStart": "on_retriever_start",
    "handleRetrieverEnd": "on_retriever_end",
    "handleRetrieverError": "on_retriever_error",
    "handleText": "on_text",
    "handleRetry": "on_retry",
    "handleCustomEvent": "on_custom_event",
}

EVENT_NAMES: frozenset[str] = frozenset(JS_EVENT_NAMES.values())

_FLAGS = (
    "ignore_llm",
    "ignore_chat_model",
    "ignore_chain",
    "ignore_agent",
    "ignore_retriever",
    "ignore_retry",
    "ignore_custom_event",
    "raise_error",
    "run_inline",
)


class BaseCallbackHandler:
    """Base class for callback handlers; flags are class attributes so subclasses override cheaply."""

    ignore_llm: bool = False
    ignore_chat_model: bool = False
    ignore_chain: bool = False
    ignore_agent: bool = False
    ignore_retriever: bool = False
    ignore_retry: bool = False
    ignore_custom_event: bool = False
    raise_error: bool = False
    run_inline: bool = False
    name: ClassVar[str | None] = None

    @classmethod
    def from_methods(cls, methods: Mapping[str, Any] | object) -> BaseCallbackHandler:
        """Build a handler from a mapping or object of event functions.

        Keys may be Python names (``on_llm_new_token``) or LangChain JS's names
        (``handleLLMNewToken``). Flags such as ``raise_error`` are copied too. Coroutine
        functions make an async handler.
        """
        return _handler_from_methods(methods)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A completion model run started."""

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A chat model run started.

        Not implemented by default so that dispatch falls back to ``on_llm_start`` with the
        messages rendered as strings, as LangChain does.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement on_chat_model_start")

    def on_llm_new_token(
        self,
        token: str,
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A streaming model produced a token."""

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A model run ended."""

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A model run failed."""

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A chain run started."""

    def on_chain_end(
        self,
        outputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A chain run ended."""

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A chain run failed."""

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A tool run started."""

    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A tool run ended."""

    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A tool run failed."""

    def on_agent_action(
        self,
        action: AgentAction,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """An agent chose an action (before the tool runs)."""

    def on_agent_finish(
        self,
        finish: AgentFinish,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """An agent produced its final answer."""

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A retriever run started."""

    def on_retriever_end(
        self,
        documents: Sequence[Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A retriever run ended."""

    def on_retriever_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A retriever run failed."""

    def on_text(
        self,
        text: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Arbitrary text was emitted by a run."""

    def on_retry(
        self,
        retry_state: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        """A run is about to retry a failed attempt."""

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A user-defined event was dispatched."""


class AsyncCallbackHandler(BaseCallbackHandler):
    """Base class for asynchronous callback handlers: every event method is a coroutine.

    The no-op coroutines are made from `BaseCallbackHandler`'s methods (same names, signatures
    and docstrings), so the event list is written once.
    """


def _async_twin(sync: Callable[..., Any]) -> Callable[..., Any]:
    """The async no-op counterpart of a sync event method."""
    name = sync.__name__
    if name == "on_chat_model_start":

        async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError(f"{type(self).__name__} does not implement on_chat_model_start")

    else:

        async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            return None

    method.__name__ = name
    method.__qualname__ = f"AsyncCallbackHandler.{name}"
    method.__doc__ = sync.__doc__
    method.__signature__ = inspect.signature(sync)  # type: ignore[attr-defined]
    return method


for _event in sorted(EVENT_NAMES):
    setattr(AsyncCallbackHandler, _event, _async_twin(getattr(BaseCallbackHandler, _event)))

# The base classes' own event functions: dispatch skips a handler's method that is one of them
# (calling a no-op costs the arguments it is given), and goes straight to the ``on_llm_start``
# fallback when ``on_chat_model_start`` is the base's unimplemented one.
_BASES = (BaseCallbackHandler, AsyncCallbackHandler)
UNIMPLEMENTED_CHAT_START = frozenset(vars(base)["on_chat_model_start"] for base in _BASES)
BASE_NO_OPS = frozenset(vars(base)[e] for base in _BASES for e in EVENT_NAMES) - UNIMPLEMENTED_CHAT_START


def _python_name(key: str) -> str | None:
    if key in EVENT_NAMES:
        return key
    return JS_EVENT_NAMES.get(key)


def _handler_from_methods(methods: Mapping[str, Any] | object) -> BaseCallbackHandler:
    """Create a handler instance whose event methods are the given callables."""
    if isinstance(methods, Mapping):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in methods.items()]
    else:
        items = [(k, getattr(methods, k)) for k in dir(methods) if not k.startswith("__")]

    attrs: dict[str, Any] = {}
    unknown: list[str] = []
    is_async = False
    for key, value in items:
        event = _python_name(key)
        if event is not None:
            if not callable(value):
                raise TypeError(f"from_methods: {key!r} must be callable, got {type(value).__name__}")
            attrs[event] = _adapt(value, event)
            is_async = is_async or inspect.iscoroutinefunction(value)
        elif key in _FLAGS or key == "name":
            attrs[key] = value
        elif isinstance(methods, Mapping):
            unknown.append(key)
    if unknown:
        known = ", ".join(sorted(EVENT_NAMES))
        raise ValueError(f"from_methods: unknown event name(s) {unknown}; expected one of: {known}")

    base: type[BaseCallbackHandler] = AsyncCallbackHandler if is_async else BaseCallbackHandler
    name = attrs.get("name") or "from_methods"
    cls = type(f"FromMethodsHandler[{name}]", (base,), {})
    handler = cls()
    for key, value in attrs.items():
        # Instance attributes shadow the base class's no-op methods.
        setattr(handler, key, value)
    return handler  # type: ignore[no-any-return]


# Arguments dispatch passes by keyword that a JS-style function takes positionally.
_KEYWORD_FIRST = {"on_llm_new_token": "token"}


def _adapt(fn: Callable[..., Any], event: str) -> Callable[..., Any]:
    """Let a user function take fewer arguments than the event offers (as in JS).

    LangChain JS's handlers take only the first positional argument(s): `handleLLMNewToken(token)`.
    We pass what the function's signature accepts and drop the rest.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_var_pos = any(p.kind is p.VAR_POSITIONAL for p in params)
    keywords = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    max_pos = None if takes_var_pos else len(positional)
    first = _KEYWORD_FIRST.get(event)
    if first is not None and first in keywords:
        first = None  # the function names the argument itself

    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if first is not None and first in kwargs:
            args = (kwargs[first], *args)
        if max_pos is not None:
            args = args[:max_pos]
        return args, {k: v for k, v in kwargs.items() if k in keywords}

    if inspect.iscoroutinefunction(fn):

        async def acall(*args: Any, **kwargs: Any) -> Any:
            a, kw = split(args, kwargs)
            return await fn(*a, **kw)

        return acall

    def call(*args: Any, **kwargs: Any) -> Any:
        a, kw = split(args, kwargs)
        return fn(*a, **kw)

    return call

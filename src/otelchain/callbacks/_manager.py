"""Callback managers: which handlers, tags and metadata a call and its sub-calls see.

Constructor callbacks are *local* (that object only); request callbacks are *inheritable* (that
call and every sub-call). A run manager is handed to the code executing a run: it emits the
run's events, makes the run's span current (`activate`) and builds the child manager for
sub-calls (`get_child`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, Union
from uuid import UUID

from otelchain._options import env_flag
from otelchain.callbacks._base import _KEYWORD_FIRST, BaseCallbackHandler, _handler_from_methods
from otelchain.callbacks._dispatch import adispatch, ahandle_event, dispatch, handle_event
from otelchain.callbacks._ids import uuid7
from otelchain.schema import RunInfo

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from otelchain.schema import AgentAction, AgentFinish, BaseMessage, LLMResult

__all__ = [
    "AsyncCallbackManager",
    "AsyncCallbackManagerForChainRun",
    "AsyncCallbackManagerForLLMRun",
    "AsyncCallbackManagerForRetrieverRun",
    "AsyncCallbackManagerForToolRun",
    "AsyncRunManager",
    "BaseCallbackManager",
    "CallbackManager",
    "CallbackManagerForChainRun",
    "CallbackManagerForLLMRun",
    "CallbackManagerForRetrieverRun",
    "CallbackManagerForToolRun",
    "Callbacks",
    "RunContext",
    "RunManager",
    "add_global_handler",
    "get_verbose",
    "remove_global_handler",
    "set_verbose",
]

logger = logging.getLogger("otelchain.callbacks")

Handler = Any  # a BaseCallbackHandler, an AsyncCallbackHandler, or any object with on_* methods
Callbacks = Union[Sequence[Any], "BaseCallbackManager", None]

# Handlers every manager inherits (e.g. the tracing handler after `tracing.instrument()`).
_global_handlers: list[Handler] = []


def add_global_handler(handler: Handler) -> None:
    """Make ``handler`` an inheritable handler of every run in the app (added once)."""
    if not any(h is handler for h in _global_handlers):
        _global_handlers.append(handler)


def remove_global_handler(handler: Handler) -> None:
    """Undo :func:`add_global_handler`."""
    _global_handlers[:] = [h for h in _global_handlers if h is not handler]


def _read_env_verbose() -> bool:
    # both read (each a bad value reported), either one on is enough
    return any([env_flag("OTELCHAIN_VERBOSE", False, logger), env_flag("LANGCHAIN_VERBOSE", False, logger)])


# Read once: os.environ lookups cost more than the rest of a no-handler run's dispatch.
_verbose: bool = _read_env_verbose()


def set_verbose(value: bool | None) -> None:
    """Turn verbose mode on or off for the whole app; ``None`` re-reads OTELCHAIN_VERBOSE /
    LANGCHAIN_VERBOSE from the environment (they are read once at import)."""
    global _verbose
    _verbose = _read_env_verbose() if value is None else bool(value)


# Verbose mode's handler: the console handler, which is a tracing handler, so the tracing layer
# plugs it in (`set_verbose_handler`) and this layer never imports it. A handler whose class sets
# ``otelchain_verbose = True`` counts as the console: verbose mode adds no second one.
_verbose_handler: Callable[[], Handler] | None = None


def set_verbose_handler(factory: Callable[[], Handler] | None) -> None:
    """Set what verbose mode adds to a call (the tracing package's console handler)."""
    global _verbose_handler
    _verbose_handler = factory


def get_verbose() -> bool:
    """Whether verbose mode is on for the whole app."""
    return _verbose


def _as_handler(obj: Any) -> Handler:
    """Accept a handler, a mapping of event functions, or a one-off object.

    Objects that look like full handlers (they carry LangChain's flags, e.g. a langchain-core
    handler) are used as they are. Other objects are wrapped by `from_methods`, which accepts
    JS-style names and functions that take fewer arguments than the event offers.
    """
    if isinstance(obj, BaseCallbackHandler):
        return obj
    if isinstance(obj, Mapping):
        return _handler_from_methods(obj)
    if obj is None or isinstance(obj, (str, bytes, int, float)):
        raise TypeError(f"callbacks must hold handler objects or mappings, got {obj!r}")
    if hasattr(obj, "ignore_llm"):
        return obj
    wrapper = _handler_from_methods(obj)
    wrapper._otelchain_source = obj  # type: ignore[attr-defined]  # dedupe by the user's object
    return wrapper


def _add(target: list[Handler], handler: Handler) -> None:
    source = getattr(handler, "_otelchain_source", handler)
    for h in target:
        if h is handler or getattr(h, "_otelchain_source", h) is source:
            return
    target.append(handler)


# --- the scope of a call or a run: one shape for managers and run managers ----------------

_SCOPE = (
    "handlers",
    "inheritable_handlers",
    "inheritable_metadata",
    "inheritable_tags",
    "metadata",
    "parent_run_id",
    "tags",
)


class _Scope:
    """Handlers, tags and metadata a call or run sees; ``inheritable_*`` ones pass to sub-calls."""

    __slots__ = _SCOPE

    handlers: list[Handler]
    inheritable_handlers: list[Handler]
    parent_run_id: UUID | None
    tags: list[str]
    inheritable_tags: list[str]
    metadata: dict[str, Any]
    inheritable_metadata: dict[str, Any]

    def _scope(self, **changes: Any) -> dict[str, Any]:
        """This scope's fields as keyword arguments, with ``changes`` applied."""
        fields = {
            "handlers": self.handlers,
            "inheritable_handlers": self.inheritable_handlers,
            "inheritable_metadata": self.inheritable_metadata,
            "inheritable_tags": self.inheritable_tags,
            "metadata": self.metadata,
            "parent_run_id": self.parent_run_id,
            "tags": self.tags,
        }  # spelled out: this runs at every run's start
        if changes:
            fields.update(changes)
        return fields

    def _child_scope(self, parent_run_id: UUID | None) -> dict[str, Any]:
        """The scope a sub-call starts from: only what is inheritable."""
        return self._scope(
            handlers=self.inheritable_handlers,
            tags=self.inheritable_tags,
            metadata=self.inheritable_metadata,
            parent_run_id=parent_run_id,
        )


_M = TypeVar("_M", bound="BaseCallbackManager")


class BaseCallbackManager(_Scope):
    """Holds handlers, tags and metadata; ``inheritable_*`` ones pass to sub-calls."""

    __slots__ = ("_started",)

    def __init__(
        self,
        handlers: Iterable[Handler] | None = None,
        inheritable_handlers: Iterable[Handler] | None = None,
        parent_run_id: UUID | None = None,
        *,
        tags: Iterable[str] | None = None,
        inheritable_tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        inheritable_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.handlers = []
        self.inheritable_handlers = []
        for h in handlers or ():
            _add(self.handlers, _as_handler(h))
        for h in inheritable_handlers or ():
            _add(self.inheritable_handlers, _as_handler(h))
        self.parent_run_id = parent_run_id
        self.tags = list(tags or ())
        self.inheritable_tags = list(inheritable_tags or ())
        self.metadata = dict(metadata or {})
        self.inheritable_metadata = dict(inheritable_metadata or {})

    @property
    def is_async(self) -> bool:
        return False

    def add_handler(self, handler: Handler, inherit: bool = True) -> None:
        """Add a handler once (by identity); ``inherit`` passes it to sub-calls too."""
        handler = _as_handler(handler)
        _add(self.handlers, handler)
        if inherit:
            _add(self.inheritable_handlers, handler)

    def add_tags(self, tags: Iterable[str], inherit: bool = True) -> None:
        """Add tags once each; ``inherit`` passes them to sub-calls too."""
        for tag in tags:
            if tag not in self.tags:
                self.tags.append(tag)
            if inherit and tag not in self.inheritable_tags:
                self.inheritable_tags.append(tag)

    def add_metadata(self, metadata: Mapping[str, Any], inherit: bool = True) -> None:
        """Merge metadata; ``inherit`` passes it to sub-calls too."""
        self.metadata.update(metadata)
        if inherit:
            self.inheritable_metadata.update(metadata)

    def copy(self: _M) -> _M:
        return self._copy_as(type(self))

    def _copy_as(self, cls: type[_M]) -> _M:
        """A ``cls`` manager with copies of this one's handlers, tags and metadata."""
        new = cls.__new__(cls)
        for name, value in self._scope().items():
            setattr(new, name, value.copy() if isinstance(value, (list, dict)) else value)
        return new

    @classmethod
    def configure(
        cls: type[_M],
        inheritable_callbacks: Callbacks = None,
        local_callbacks: Callbacks = None,
        verbose: bool | None = False,
        inheritable_tags: Iterable[str] | None = None,
        local_tags: Iterable[str] | None = None,
        inheritable_metadata: Mapping[str, Any] | None = None,
        local_metadata: Mapping[str, Any] | None = None,
    ) -> _M:
        """Build the manager for one call.

        ``inheritable_callbacks`` are the request's callbacks (or the parent's child manager);
        ``local_callbacks`` the object's constructor callbacks. ``verbose`` adds one console
        handler for this object and its children unless one is already present.
        """
        if isinstance(inheritable_callbacks, BaseCallbackManager):
            manager = inheritable_callbacks._copy_as(cls)
        else:
            inherited = [_as_handler(h) for h in inheritable_callbacks or ()]
            manager = cls(inherited, inherited)

        if isinstance(local_callbacks, BaseCallbackManager):
            local: Sequence[Any] = local_callbacks.handlers
        else:
            local = local_callbacks or ()
        for handler in local:
            _add(manager.handlers, _as_handler(handler))

        # App-wide handlers come last, as in langchain-core: a tracing handler the app passed
        # itself sees each run first, and the shared one leaves that run to it.
        for handler in _global_handlers:
            if not any(h is handler for h in manager.handlers):
                manager.add_handler(handler, inherit=True)

        present = any(getattr(h, "otelchain_verbose", False) for h in manager.handlers)
        if (verbose or _verbose) and _verbose_handler is not None and not present:
            manager.add_handler(_verbose_handler(), inherit=True)

        if inheritable_tags:
            manager.add_tags(inheritable_tags, inherit=True)
        if local_tags:
            manager.add_tags(local_tags, inherit=False)
        if inheritable_metadata:
            manager.add_metadata(inheritable_metadata, inherit=True)
        if local_metadata:
            manager.add_metadata(local_metadata, inherit=False)
        return manager

    def _track(self, rm: BaseRunManager) -> None:
        started: list[BaseRunManager] | None = getattr(self, "_started", None)
        if started is None:
            self._started = [rm]
        else:
            started.append(rm)

    def unfinished(self) -> list[Any]:
        """Runs this manager started whose end or error event has not been emitted yet."""
        return [rm for rm in getattr(self, "_started", None) or () if not rm.ended]

    def _restore_context(self) -> None:
        """Undo a run context left attached because an interrupt skipped ``activate()``'s exit."""
        for rm in getattr(self, "_started", None) or ():
            context = rm._context
            restore = None if context is _UNSET or context is None else getattr(context, "restore", None)
            if restore is not None:
                try:
                    restore()
                except Exception:  # a broken provider must not break the run
                    logger.warning("RunContext.restore failed", exc_info=True)

    def __repr__(self) -> str:
        names = [type(h).__name__ for h in self.handlers]
        return f"{type(self).__name__}(handlers={names}, parent_run_id={self.parent_run_id})"


# --- run managers ---------------------------------------------------------------------------


class RunContext(Protocol):
    """What a tracing handler offers for a run it traces (``otelchain_run_context(run_id)``).

    The run manager knows nothing of OpenTelemetry: it asks the first handler that has one for
    the run's context, once per run, makes it current with ``attach``/``detach`` in one frame,
    and reads the trace ids for ``run_info()``.
    """

    def attach(self) -> object:
        """Make the run's context current; returns the token for ``detach``."""

    def detach(self, token: object) -> None:
        """Undo ``attach`` (same frame, same context)."""

    def trace_ids(self) -> tuple[str, str] | None:
        """The run's (trace id, span id) as hex, or None when it has none."""

    # Optional: ``restore()`` makes current again what was current before ``attach`` when the
    # run's context is still current (an interrupt skipped ``detach``); `end_started` calls it.


class _Attached:
    """Makes a run's context current for one block; attach and detach in the same frame."""

    __slots__ = ("_context", "_token")

    def __init__(self, context: RunContext) -> None:
        self._context = context
        self._token: object = None

    def __enter__(self) -> None:
        self._token = self._context.attach()

    def __exit__(self, *exc: object) -> None:
        self._context.detach(self._token)


class _Nothing:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()

_UNSET: Any = object()  # the run's context was not looked up yet


class BaseRunManager(_Scope):
    """State of one run: its id, its parent, and the handlers, tags and metadata it sees."""

    __slots__ = ("_context", "ended", "kind", "run_id")

    def __init__(
        self,
        *,
        run_id: UUID,
        handlers: list[Handler],
        inheritable_handlers: list[Handler],
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        inheritable_tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inheritable_metadata: dict[str, Any] | None = None,
        kind: str = "chain",
    ) -> None:
        self.run_id = run_id
        self.kind = kind  # llm, chain, tool or retriever: which event ends it with an error
        # True once the run's end or error event reached every handler (even if one raised).
        self.ended = False
        self.handlers = handlers
        self.inheritable_handlers = inheritable_handlers
        self.parent_run_id = parent_run_id
        self.tags = tags or []
        self.inheritable_tags = inheritable_tags or []
        self.metadata = metadata or {}
        self.inheritable_metadata = inheritable_metadata or {}
        self._context: RunContext | None = _UNSET

    def _run_context(self) -> RunContext | None:
        """The run's context from the first handler that offers one; looked up once per run
        (the run's span does not change while it runs), and the one cache of it here."""
        if self._context is _UNSET:
            self._context = self._find_run_context()
        return self._context

    def _find_run_context(self) -> RunContext | None:
        for handler in self.handlers:
            provider = getattr(handler, "otelchain_run_context", None)
            if provider is None:
                continue
            try:
                context = provider(self.run_id)
            except Exception:  # a broken provider must not break the run
                logger.warning("otelchain_run_context failed in %s", type(handler).__name__, exc_info=True)
                continue
            if context is not None:
                return context  # type: ignore[no-any-return]
        return None

    def activate(self) -> _Attached | _Nothing:
        """Context manager that makes this run's span current for the enclosed block.

        The executing code wraps the run's body (and each step of a stream) in it, so spans of
        other instrumentation nest under the run, and nothing stays attached after the block.
        """
        context = self._run_context()
        return _NOTHING if context is None else _Attached(context)

    def run_info(self) -> RunInfo:
        """The run's id, with the trace and span ids when a tracing handler sees the run."""
        context = self._run_context()
        ids = None if context is None else context.trace_ids()
        return RunInfo(self.run_id) if ids is None else RunInfo(self.run_id, *ids)

    def _child(self, cls: type[_M], tag: str | None) -> _M:
        child = cls(**self._child_scope(self.run_id))
        if tag is not None:
            child.add_tags([tag], inherit=False)
        return child

    def _event_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"run_id": self.run_id, "parent_run_id": self.parent_run_id, "tags": self.tags, **kwargs}

    @property
    def _error_event(self) -> tuple[str, str]:
        return _ERROR_EVENTS[self.kind]


# The events a running run emits, and the flag that silences each (LangChain's choices: tool
# events follow ``ignore_agent``). Both run managers get one method per row.
# The event that ends a run of each kind with an error, and the flag that gates it.
_ERROR_EVENTS = {
    "llm": ("on_llm_error", "ignore_llm"),
    "chain": ("on_chain_error", "ignore_chain"),
    "tool": ("on_tool_error", "ignore_agent"),
    "retriever": ("on_retriever_error", "ignore_retriever"),
}
# The events that end a run: delivered to every handler, then the run is marked ended.
_ENDS = frozenset(("on_llm_end", "on_chain_end", "on_tool_end", "on_retriever_end")) | frozenset(
    event for event, _ in _ERROR_EVENTS.values()
)

_RUN_EVENTS: dict[str, str | None] = {
    "on_llm_new_token": "ignore_llm",
    "on_llm_end": "ignore_llm",
    "on_llm_error": "ignore_llm",
    "on_chain_end": "ignore_chain",
    "on_chain_error": "ignore_chain",
    "on_agent_action": "ignore_agent",
    "on_agent_finish": "ignore_agent",
    "on_tool_end": "ignore_agent",
    "on_tool_error": "ignore_agent",
    "on_retriever_end": "ignore_retriever",
    "on_retriever_error": "ignore_retriever",
    "on_text": None,
    "on_retry": "ignore_retry",
}

_R = TypeVar("_R")

if TYPE_CHECKING:

    class _RunEvents(Generic[_R]):
        """The typed signatures of the rows of `_RUN_EVENTS` (``_R``: None, or an awaitable)."""

        def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> _R: ...
        def on_llm_end(self, response: LLMResult, **kwargs: Any) -> _R: ...
        def on_llm_error(self, error: BaseException, **kwargs: Any) -> _R: ...
        def on_chain_end(self, outputs: Any, **kwargs: Any) -> _R: ...
        def on_chain_error(self, error: BaseException, **kwargs: Any) -> _R: ...
        def on_agent_action(self, action: AgentAction, **kwargs: Any) -> _R: ...
        def on_agent_finish(self, finish: AgentFinish, **kwargs: Any) -> _R: ...
        def on_tool_end(self, output: Any, **kwargs: Any) -> _R: ...
        def on_tool_error(self, error: BaseException, **kwargs: Any) -> _R: ...
        def on_retriever_end(self, documents: Sequence[Any], **kwargs: Any) -> _R: ...
        def on_retriever_error(self, error: BaseException, **kwargs: Any) -> _R: ...
        def on_text(self, text: str, **kwargs: Any) -> _R: ...
        def on_retry(self, retry_state: Any, **kwargs: Any) -> _R: ...

    _SyncEvents = _RunEvents[None]
    _AsyncEvents = _RunEvents[Awaitable[None]]
else:
    _SyncEvents = _AsyncEvents = object


def _call_args(event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """LangChain passes some first arguments by keyword (``token=``); do the same."""
    first = _KEYWORD_FIRST.get(event)
    if first is not None and args:
        kwargs[first] = args[0]
        return args[1:]
    return args


class RunManager(BaseRunManager, _SyncEvents):
    """Emits the events of one run from sync code (one class for every kind of run)."""

    __slots__ = ()

    def get_child(self, tag: str | None = None) -> CallbackManager:
        """The manager for a sub-call: inheritable handlers, tags and metadata, parent = this run."""
        return self._child(CallbackManager, tag)

    def get_sync(self) -> RunManager:
        return self

    def _finish(self, event: str, ignore: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Emit the run's end or error event to every handler, then mark the run ended."""
        error = None
        if self.handlers:
            cut: list[Handler] = []
            error = dispatch(self.handlers, event, ignore, args, self._event_kwargs(kwargs), cut)
            if cut and error is not None:  # an interrupt cut a handler short: it sees the failure
                dispatch(cut, *self._error_event, (error,), self._event_kwargs({}))
        self.ended = True
        if error is not None:
            raise error


class AsyncRunManager(BaseRunManager, _AsyncEvents):
    """Emits the events of one run from async code (one class for every kind of run)."""

    __slots__ = ()

    def get_child(self, tag: str | None = None) -> AsyncCallbackManager:
        return self._child(AsyncCallbackManager, tag)

    def get_sync(self) -> RunManager:
        """The same run as a sync manager, for sync code called from async code."""
        sync = RunManager(run_id=self.run_id, kind=self.kind, **self._scope())
        sync._context = self._context
        return sync

    async def _finish(self, event: str, ignore: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Async `RunManager._finish`."""
        error = None
        if self.handlers:
            cut: list[Handler] = []
            error = await adispatch(self.handlers, event, ignore, args, self._event_kwargs(kwargs), cut)
            if cut and error is not None:
                await adispatch(cut, *self._error_event, (error,), self._event_kwargs({}))
        self.ended = True
        if error is not None:
            raise error


def _sync_event(event: str, ignore: str | None) -> Any:
    def emit(self: RunManager, *args: Any, **kwargs: Any) -> None:
        if event in _ENDS:
            self._finish(event, ignore or "", args, kwargs)
        elif self.handlers:
            args = _call_args(event, args, kwargs)
            handle_event(self.handlers, event, ignore, *args, **self._event_kwargs(kwargs))

    return emit


def _async_event(event: str, ignore: str | None) -> Any:
    async def emit(self: AsyncRunManager, *args: Any, **kwargs: Any) -> None:
        if event in _ENDS:
            await self._finish(event, ignore or "", args, kwargs)
        elif self.handlers:
            args = _call_args(event, args, kwargs)
            await ahandle_event(self.handlers, event, ignore, *args, **self._event_kwargs(kwargs))

    return emit


for _event, _ignore in _RUN_EVENTS.items():
    setattr(RunManager, _event, _sync_event(_event, _ignore))
    setattr(AsyncRunManager, _event, _async_event(_event, _ignore))

# LangChain's names for the run managers of each kind of run (one class per mode here).
CallbackManagerForLLMRun = RunManager
CallbackManagerForChainRun = RunManager
CallbackManagerForToolRun = RunManager
CallbackManagerForRetrieverRun = RunManager
AsyncCallbackManagerForLLMRun = AsyncRunManager
AsyncCallbackManagerForChainRun = AsyncRunManager
AsyncCallbackManagerForToolRun = AsyncRunManager
AsyncCallbackManagerForRetrieverRun = AsyncRunManager


# --- managers that start runs ---------------------------------------------------------------

# The kind of run each start event starts.
_KINDS = {
    "on_llm_start": "llm",
    "on_chat_model_start": "llm",
    "on_chain_start": "chain",
    "on_tool_start": "tool",
    "on_retriever_start": "retriever",
}

# The start events and the flag that silences each.
_START_IGNORE = {
    "on_llm_start": "ignore_llm",
    "on_chat_model_start": "ignore_chat_model",
    "on_chain_start": "ignore_chain",
    "on_tool_start": "ignore_agent",
    "on_retriever_start": "ignore_retriever",
}

_RM = TypeVar("_RM")
_RMS = TypeVar("_RMS")
_DONE = TypeVar("_DONE")

if TYPE_CHECKING:

    class _StartEvents(Generic[_RM, _RMS, _DONE]):
        """The typed start methods (``_RM``: a run manager or an awaitable of one; ``_RMS``: a
        list of them; ``_DONE``: None or an awaitable of it)."""

        def on_llm_start(
            self, serialized: dict[str, Any], prompts: list[str], run_id: UUID | None = None, **kwargs: Any
        ) -> _RMS: ...
        def on_chat_model_start(
            self,
            serialized: dict[str, Any],
            messages: list[list[BaseMessage]],
            run_id: UUID | None = None,
            **kwargs: Any,
        ) -> _RMS: ...
        def on_chain_start(
            self, serialized: dict[str, Any] | None, inputs: Any, run_id: UUID | None = None, **kwargs: Any
        ) -> _RM: ...
        def on_tool_start(
            self,
            serialized: dict[str, Any] | None,
            input_str: str,
            run_id: UUID | None = None,
            inputs: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> _RM: ...
        def on_retriever_start(
            self, serialized: dict[str, Any] | None, query: str, run_id: UUID | None = None, **kwargs: Any
        ) -> _RM: ...
        def on_custom_event(self, name: str, data: Any, run_id: UUID) -> _DONE: ...

    _SyncStarts = _StartEvents[RunManager, list[RunManager], None]
    _AsyncStarts = _StartEvents[Awaitable[AsyncRunManager], Awaitable[list[AsyncRunManager]], Awaitable[None]]
else:
    _SyncStarts = _AsyncStarts = object


class _StartingManager(BaseCallbackManager):
    """What both modes share to start runs; each mode says only how one start event is
    dispatched (``_start``, ``_start_each``, ``_dispatch``)."""

    __slots__ = ()

    def _start_kwargs(self, run_id: UUID, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "parent_run_id": self.parent_run_id,
            "tags": self.tags,
            "metadata": self.metadata,
            **kwargs,
        }

    def _start(self, event: str, run_id: UUID | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _start_each(self, event: str, run_id: UUID | None, serialized: Any, items: Any, kwargs: Any) -> Any:
        """One run per item, as in LangChain; ``run_id`` names the first."""
        raise NotImplementedError

    def _dispatch(self, event: str, ignore: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class CallbackManager(_StartingManager, _SyncStarts):
    """Starts runs from sync code; each ``on_*_start`` returns the run's manager."""

    __slots__ = ()

    def _dispatch(self, event: str, ignore: str, *args: Any, **kwargs: Any) -> None:
        if self.handlers:
            handle_event(self.handlers, event, ignore, *args, **kwargs)

    def _start(
        self, event: str, run_id: UUID | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> RunManager:
        rm = RunManager(run_id=run_id or uuid7(), kind=_KINDS[event], **self._scope())
        self._track(rm)
        try:
            self._dispatch(event, _START_IGNORE[event], *args, **self._start_kwargs(rm.run_id, kwargs))
        except BaseException as error:
            # A handler raised (raise_error) or the call was interrupted after handlers saw the
            # start: they see the run fail, so no span or run state is left open.
            rm.ended = True
            if self.handlers:
                dispatch(self.handlers, *rm._error_event, (error,), rm._event_kwargs({}))
            raise
        return rm

    def _start_each(
        self, event: str, run_id: UUID | None, serialized: Any, items: Any, kwargs: Any
    ) -> list[RunManager]:
        runs: list[RunManager] = []
        try:
            for i, x in enumerate(items):
                runs.append(self._start(event, run_id if i == 0 else None, (serialized, [x]), kwargs))
        except BaseException as error:
            self.end_started(error)  # the runs of the batch already started end too
            raise
        return runs

    def end_started(self, error: BaseException) -> None:
        """End every run this manager started that has not ended, with ``error``.

        The code executing runs calls it around the whole run (start included), so a handler
        error or an interrupt landing anywhere never leaves a run or a span open.
        """
        for rm in self.unfinished():
            rm._finish(*rm._error_event, (error,), {})
        self._restore_context()


class AsyncCallbackManager(_StartingManager, _AsyncStarts):
    """Starts runs from async code; each ``on_*_start`` returns (an awaitable of) the run's manager."""

    __slots__ = ()

    @property
    def is_async(self) -> bool:
        return True

    async def _dispatch(self, event: str, ignore: str, *args: Any, **kwargs: Any) -> None:
        if self.handlers:
            await ahandle_event(self.handlers, event, ignore, *args, **kwargs)

    async def _start(
        self, event: str, run_id: UUID | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> AsyncRunManager:
        rm = AsyncRunManager(run_id=run_id or uuid7(), kind=_KINDS[event], **self._scope())
        self._track(rm)
        try:
            await self._dispatch(event, _START_IGNORE[event], *args, **self._start_kwargs(rm.run_id, kwargs))
        except BaseException as error:
            rm.ended = True  # see `CallbackManager._start`
            if self.handlers:
                await adispatch(self.handlers, *rm._error_event, (error,), rm._event_kwargs({}))
            raise
        return rm

    async def _start_each(
        self, event: str, run_id: UUID | None, serialized: Any, items: Any, kwargs: Any
    ) -> list[AsyncRunManager]:
        runs: list[AsyncRunManager] = []
        try:
            for i, x in enumerate(items):
                runs.append(await self._start(event, run_id if i == 0 else None, (serialized, [x]), kwargs))
        except BaseException as error:
            await self.end_started(error)
            raise
        return runs

    async def end_started(self, error: BaseException) -> None:
        """Async `CallbackManager.end_started`."""
        for rm in self.unfinished():
            await rm._finish(*rm._error_event, (error,), {})
        self._restore_context()


class _StartMethods(_StartingManager):
    """The start methods, written once and given to both modes (an async manager's return
    awaitables); `_StartEvents` types them."""

    __slots__ = ()

    def on_llm_start(self, serialized: Any, prompts: Any, run_id: Any = None, **kwargs: Any) -> Any:
        """One run per prompt; ``run_id`` names the first."""
        return self._start_each("on_llm_start", run_id, serialized, prompts, kwargs)

    def on_chat_model_start(self, serialized: Any, messages: Any, run_id: Any = None, **kwargs: Any) -> Any:
        """One run per message list; handlers without it get ``on_llm_start``."""
        return self._start_each("on_chat_model_start", run_id, serialized, messages, kwargs)

    def on_chain_start(self, serialized: Any, inputs: Any, run_id: Any = None, **kwargs: Any) -> Any:
        return self._start("on_chain_start", run_id, (serialized or {}, inputs), kwargs)

    def on_tool_start(
        self, serialized: Any, input_str: str, run_id: Any = None, inputs: Any = None, **kwargs: Any
    ) -> Any:
        return self._start(
            "on_tool_start", run_id, (serialized or {}, input_str), {"inputs": inputs, **kwargs}
        )

    def on_retriever_start(self, serialized: Any, query: str, run_id: Any = None, **kwargs: Any) -> Any:
        return self._start("on_retriever_start", run_id, (serialized or {}, query), kwargs)

    def on_custom_event(self, name: str, data: Any, run_id: UUID) -> Any:
        """Dispatch a user-defined event attributed to ``run_id``."""
        kwargs = {"run_id": run_id, "tags": self.tags, "metadata": self.metadata}
        return self._dispatch("on_custom_event", "ignore_custom_event", name, data, **kwargs)


for _name in (*_START_IGNORE, "on_custom_event"):
    setattr(CallbackManager, _name, getattr(_StartMethods, _name))
    setattr(AsyncCallbackManager, _name, getattr(_StartMethods, _name))

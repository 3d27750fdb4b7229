"""Callback managers: which handlers, tags and metadata a call and its sub-calls see.

Constructor callbacks are *local* (that object only); request callbacks are *inheritable* (that
call and every sub-call). A run manager is handed to the code executing a run: it emits the
run's events, makes the run's span current (`activate`) and builds the child manager for
sub-calls (`get_child`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, Union
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace

from otelchain.callbacks._base import AsyncCallbackHandler, BaseCallbackHandler, _handler_from_methods
from otelchain.callbacks._dispatch import adispatch, ahandle_event, dispatch, handle_event
from otelchain.callbacks._ids import uuid7
from otelchain.schema import RunInfo

if TYPE_CHECKING:
    from otelchain.schema import AgentAction, AgentFinish, BaseMessage, LLMResult

__all__ = [
    "AsyncCallbackManager",
    "AsyncCallbackManagerForChainRun",
    "AsyncCallbackManagerForLLMRun",
    "AsyncCallbackManagerForRetrieverRun",
    "AsyncCallbackManagerForToolRun",
    "BaseCallbackManager",
    "CallbackManager",
    "CallbackManagerForChainRun",
    "CallbackManagerForLLMRun",
    "CallbackManagerForRetrieverRun",
    "CallbackManagerForToolRun",
    "Callbacks",
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
    for var in ("OTELCHAIN_VERBOSE", "LANGCHAIN_VERBOSE"):
        value = os.environ.get(var)
        if value is not None and value.strip().lower() in ("1", "true", "yes", "on"):
            return True
    return False


# Read once: os.environ lookups cost more than the rest of a no-handler run's dispatch.
_verbose: bool = _read_env_verbose()


def set_verbose(value: bool | None) -> None:
    """Turn verbose mode on or off for the whole app; ``None`` re-reads OTELCHAIN_VERBOSE /
    LANGCHAIN_VERBOSE from the environment (they are read once at import)."""
    global _verbose
    _verbose = _read_env_verbose() if value is None else bool(value)


def get_verbose() -> bool:
    """Whether verbose mode is on for the whole app."""
    return _verbose


def _as_handler(obj: Any) -> Handler:
    """Accept a handler, a mapping of event functions, or a one-off object.

    Objects that look like full handlers (they carry LangChain's flags, e.g. a langchain-core
    handler) are used as they are. Other objects are wrapped by `from_methods`, which accepts
    JS-style names and functions that take fewer arguments than the event offers.
    """
    if isinstance(obj, (BaseCallbackHandler, AsyncCallbackHandler)):
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


_M = TypeVar("_M", bound="BaseCallbackManager")


class BaseCallbackManager:
    """Holds handlers, tags and metadata; ``inheritable_*`` ones pass to sub-calls."""

    __slots__ = (
        "_ctx_before",
        "_started",
        "handlers",
        "inheritable_handlers",
        "inheritable_metadata",
        "inheritable_tags",
        "metadata",
        "parent_run_id",
        "tags",
    )

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
        self.handlers: list[Handler] = []
        self.inheritable_handlers: list[Handler] = []
        for h in handlers or ():
            _add(self.handlers, _as_handler(h))
        for h in inheritable_handlers or ():
            _add(self.inheritable_handlers, _as_handler(h))
        self.parent_run_id = parent_run_id
        self.tags: list[str] = list(tags or ())
        self.inheritable_tags: list[str] = list(inheritable_tags or ())
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.inheritable_metadata: dict[str, Any] = dict(inheritable_metadata or {})

    @property
    def is_async(self) -> bool:
        return False

    def add_handler(self, handler: Handler, inherit: bool = True) -> None:
        """Add a handler once (by identity); ``inherit`` passes it to sub-calls too."""
        handler = _as_handler(handler)
        _add(self.handlers, handler)
        if inherit:
            _add(self.inheritable_handlers, handler)

    def remove_handler(self, handler: Handler) -> None:
        self.handlers = [h for h in self.handlers if h is not handler]
        self.inheritable_handlers = [h for h in self.inheritable_handlers if h is not handler]

    def set_handlers(self, handlers: Iterable[Handler], inherit: bool = True) -> None:
        self.handlers, self.inheritable_handlers = [], []
        for h in handlers:
            self.add_handler(h, inherit)

    def add_tags(self, tags: Iterable[str], inherit: bool = True) -> None:
        for tag in tags:
            if tag not in self.tags:
                self.tags.append(tag)
            if inherit and tag not in self.inheritable_tags:
                self.inheritable_tags.append(tag)

    def remove_tags(self, tags: Iterable[str]) -> None:
        drop = set(tags)
        self.tags = [t for t in self.tags if t not in drop]
        self.inheritable_tags = [t for t in self.inheritable_tags if t not in drop]

    def add_metadata(self, metadata: Mapping[str, Any], inherit: bool = True) -> None:
        self.metadata.update(metadata)
        if inherit:
            self.inheritable_metadata.update(metadata)

    def copy(self: _M) -> _M:
        return self._copy_as(type(self))

    def _copy_as(self, cls: type[_M]) -> _M:
        """A ``cls`` manager with copies of this one's handlers, tags and metadata."""
        new = cls.__new__(cls)
        new.handlers = list(self.handlers)
        new.inheritable_handlers = list(self.inheritable_handlers)
        new.parent_run_id = self.parent_run_id
        new.tags = list(self.tags)
        new.inheritable_tags = list(self.inheritable_tags)
        new.metadata = dict(self.metadata)
        new.inheritable_metadata = dict(self.inheritable_metadata)
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

        if verbose or _verbose:
            from otelchain.callbacks._console import ConsoleCallbackHandler, default_console_handler

            if not any(isinstance(h, ConsoleCallbackHandler) for h in manager.handlers):
                manager.add_handler(default_console_handler(), inherit=True)

        if inheritable_tags:
            manager.add_tags(inheritable_tags, inherit=True)
        if local_tags:
            manager.add_tags(local_tags, inherit=False)
        if inheritable_metadata:
            manager.add_metadata(inheritable_metadata, inherit=True)
        if local_metadata:
            manager.add_metadata(local_metadata, inherit=False)
        return manager

    def _end_kwargs(self, run_id: UUID) -> dict[str, Any]:
        return {"run_id": run_id, "parent_run_id": self.parent_run_id, "tags": self.tags}

    def _track(self, rm: Any) -> None:
        started: list[Any] | None = getattr(self, "_started", None)
        if started is None:
            self._started = [rm]
            self._ctx_before = otel_context.get_current()
        else:
            started.append(rm)

    def unfinished(self) -> list[Any]:
        """Runs this manager started whose end or error event has not been emitted yet."""
        return [rm for rm in getattr(self, "_started", None) or () if not rm.ended]

    def _restore_context(self) -> None:
        """Undo a run context left attached because an interrupt skipped ``activate()``'s exit."""
        started: list[Any] = getattr(self, "_started", None) or []
        current = otel_context.get_current()
        if any(rm._ctx is current for rm in started):
            otel_context.attach(self._ctx_before)

    def __repr__(self) -> str:
        names = [type(h).__name__ for h in self.handlers]
        return f"{type(self).__name__}(handlers={names}, parent_run_id={self.parent_run_id})"


# --- run managers ---------------------------------------------------------------------------


class _Attached:
    """Makes a run's OTel context current for one block; attach and detach in the same frame."""

    __slots__ = ("_ctx", "_token")

    def __init__(self, ctx: otel_context.Context) -> None:
        self._ctx = ctx
        self._token: object = None

    def __enter__(self) -> None:
        self._token = otel_context.attach(self._ctx)

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]


class _Nothing:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()


class BaseRunManager:
    """State of one run: its id, its parent, and the handlers, tags and metadata it sees."""

    __slots__ = (
        "_ctx",
        "ended",
        "handlers",
        "inheritable_handlers",
        "inheritable_metadata",
        "inheritable_tags",
        "metadata",
        "parent_run_id",
        "run_id",
        "tags",
    )

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
    ) -> None:
        self.run_id = run_id
        self.handlers = handlers
        self.inheritable_handlers = inheritable_handlers
        self.parent_run_id = parent_run_id
        self.tags = tags or []
        self.inheritable_tags = inheritable_tags or []
        self.metadata = metadata or {}
        self.inheritable_metadata = inheritable_metadata or {}
        self._ctx: otel_context.Context | bool | None = False  # False: not looked up yet
        # True once the run's end or error event reached every handler (even if one raised).
        self.ended = False

    def _otel_context(self) -> otel_context.Context | None:
        """The run's OTel context from the first handler that has one; looked up once per run
        (the run's span does not change while it runs)."""
        ctx = self._ctx
        if ctx is False:
            ctx = self._ctx = self._find_otel_context()
        return ctx  # type: ignore[return-value]

    def _find_otel_context(self) -> otel_context.Context | None:
        for handler in self.handlers:
            provider = getattr(handler, "otelchain_run_context", None)
            if provider is None:
                continue
            try:
                ctx = provider(self.run_id)
            except Exception:  # a broken provider must not break the run
                logger.warning("otelchain_run_context failed in %s", type(handler).__name__, exc_info=True)
                continue
            if ctx is not None:
                return ctx  # type: ignore[no-any-return]
        return None

    def activate(self) -> _Attached | _Nothing:
        """Context manager that makes this run's span current for the enclosed block.

        The executing code wraps the run's body (and each step of a stream) in it, so spans of
        other instrumentation nest under the run, and nothing stays attached after the block.
        """
        ctx = self._otel_context()
        return _NOTHING if ctx is None else _Attached(ctx)

    def run_info(self) -> RunInfo:
        """The run's id, with the trace and span ids when a tracing handler sees the run."""
        ctx = self._otel_context()
        if ctx is not None:
            sc = trace.get_current_span(ctx).get_span_context()
            if sc.is_valid:
                return RunInfo(self.run_id, format(sc.trace_id, "032x"), format(sc.span_id, "016x"))
        return RunInfo(self.run_id)

    def _end_kwargs(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "parent_run_id": self.parent_run_id, "tags": self.tags}

    def _child_args(self) -> dict[str, Any]:
        return {
            "handlers": self.inheritable_handlers,
            "inheritable_handlers": self.inheritable_handlers,
            "parent_run_id": self.run_id,
            "tags": self.inheritable_tags,
            "inheritable_tags": self.inheritable_tags,
            "metadata": self.inheritable_metadata,
            "inheritable_metadata": self.inheritable_metadata,
        }


class RunManager(BaseRunManager):
    """Sync events every kind of run can emit."""

    __slots__ = ()
    _error_event: tuple[str, str] = ("on_chain_error", "ignore_chain")

    def _emit(self, event: str, ignore: str | None, *args: Any, **kwargs: Any) -> None:
        if self.handlers:
            handle_event(
                self.handlers,
                event,
                ignore,
                *args,
                run_id=self.run_id,
                parent_run_id=self.parent_run_id,
                tags=self.tags,
                **kwargs,
            )

    def _finish(self, event: str, ignore: str, *args: Any, **kwargs: Any) -> None:
        """Emit the run's end or error event to every handler, then mark the run ended."""
        error = None
        if self.handlers:
            kwargs.update(run_id=self.run_id, parent_run_id=self.parent_run_id, tags=self.tags)
            cut: list[Handler] = []
            error = dispatch(self.handlers, event, ignore, args, kwargs, cut)
            if cut and error is not None:  # an interrupt cut a handler short: it sees the failure
                dispatch(cut, self._error_event[0], self._error_event[1], (error,), self._end_kwargs())
        self.ended = True
        if error is not None:
            raise error

    def on_text(self, text: str, **kwargs: Any) -> None:
        self._emit("on_text", None, text, **kwargs)

    def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
        self._emit("on_retry", "ignore_retry", retry_state, **kwargs)

    def get_child(self, tag: str | None = None) -> CallbackManager:
        """The manager for a sub-call: inheritable handlers, tags and metadata, parent = this run."""
        child = CallbackManager(**self._child_args())
        if tag is not None:
            child.add_tags([tag], inherit=False)
        return child

    def get_sync(self) -> RunManager:
        return self


class AsyncRunManager(BaseRunManager):
    """Async events every kind of run can emit."""

    __slots__ = ()
    _error_event: tuple[str, str] = ("on_chain_error", "ignore_chain")

    async def _aemit(self, event: str, ignore: str | None, *args: Any, **kwargs: Any) -> None:
        if self.handlers:
            await ahandle_event(
                self.handlers,
                event,
                ignore,
                *args,
                run_id=self.run_id,
                parent_run_id=self.parent_run_id,
                tags=self.tags,
                **kwargs,
            )

    async def _afinish(self, event: str, ignore: str, *args: Any, **kwargs: Any) -> None:
        """Emit the run's end or error event to every handler, then mark the run ended."""
        error = None
        if self.handlers:
            kwargs.update(run_id=self.run_id, parent_run_id=self.parent_run_id, tags=self.tags)
            cut: list[Handler] = []
            error = await adispatch(self.handlers, event, ignore, args, kwargs, cut)
            if cut and error is not None:  # an interrupt cut a handler short: it sees the failure
                err_event, err_ignore = self._error_event
                await adispatch(cut, err_event, err_ignore, (error,), self._end_kwargs())
        self.ended = True
        if error is not None:
            raise error

    async def on_text(self, text: str, **kwargs: Any) -> None:
        await self._aemit("on_text", None, text, **kwargs)

    async def on_retry(self, retry_state: Any, **kwargs: Any) -> None:
        await self._aemit("on_retry", "ignore_retry", retry_state, **kwargs)

    def get_child(self, tag: str | None = None) -> AsyncCallbackManager:
        """The manager for a sub-call: inheritable handlers, tags and metadata, parent = this run."""
        child = AsyncCallbackManager(**self._child_args())
        if tag is not None:
            child.add_tags([tag], inherit=False)
        return child

    def _same_args(self) -> dict[str, Any]:
        return {
            s: getattr(self, s) for s in BaseRunManager.__slots__ if not s.startswith("_") and s != "ended"
        }

    def get_sync(self) -> RunManager:
        """The same run as a sync manager, for sync code called from async code."""
        return _SYNC_TWIN[type(self)](**self._same_args())


class CallbackManagerForLLMRun(RunManager):
    """Emits the events of one model run."""

    __slots__ = ()
    _error_event = ("on_llm_error", "ignore_llm")

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        self._emit("on_llm_new_token", "ignore_llm", token=token, chunk=chunk, **kwargs)

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        self._finish("on_llm_end", "ignore_llm", response, **kwargs)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self._finish("on_llm_error", "ignore_llm", error, **kwargs)


class AsyncCallbackManagerForLLMRun(AsyncRunManager):
    """Emits the events of one model run, from async code."""

    __slots__ = ()
    _error_event = ("on_llm_error", "ignore_llm")

    async def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        await self._aemit("on_llm_new_token", "ignore_llm", token=token, chunk=chunk, **kwargs)

    async def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        await self._afinish("on_llm_end", "ignore_llm", response, **kwargs)

    async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        await self._afinish("on_llm_error", "ignore_llm", error, **kwargs)

    def get_sync(self) -> CallbackManagerForLLMRun:
        return CallbackManagerForLLMRun(**self._same_args())


class CallbackManagerForChainRun(RunManager):
    """Emits the events of one chain (or agent executor) run."""

    __slots__ = ()
    _error_event = ("on_chain_error", "ignore_chain")

    def on_chain_end(self, outputs: Any, **kwargs: Any) -> None:
        self._finish("on_chain_end", "ignore_chain", outputs, **kwargs)

    def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        self._finish("on_chain_error", "ignore_chain", error, **kwargs)

    def on_agent_action(self, action: AgentAction, **kwargs: Any) -> None:
        self._emit("on_agent_action", "ignore_agent", action, **kwargs)

    def on_agent_finish(self, finish: AgentFinish, **kwargs: Any) -> None:
        self._emit("on_agent_finish", "ignore_agent", finish, **kwargs)


class AsyncCallbackManagerForChainRun(AsyncRunManager):
    """Emits the events of one chain (or agent executor) run, from async code."""

    __slots__ = ()
    _error_event = ("on_chain_error", "ignore_chain")

    async def on_chain_end(self, outputs: Any, **kwargs: Any) -> None:
        await self._afinish("on_chain_end", "ignore_chain", outputs, **kwargs)

    async def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        await self._afinish("on_chain_error", "ignore_chain", error, **kwargs)

    async def on_agent_action(self, action: AgentAction, **kwargs: Any) -> None:
        await self._aemit("on_agent_action", "ignore_agent", action, **kwargs)

    async def on_agent_finish(self, finish: AgentFinish, **kwargs: Any) -> None:
        await self._aemit("on_agent_finish", "ignore_agent", finish, **kwargs)


class CallbackManagerForToolRun(RunManager):
    """Emits the events of one tool run (LangChain gates tool events on ``ignore_agent``)."""

    __slots__ = ()
    _error_event = ("on_tool_error", "ignore_agent")

    def on_tool_end(self, output: Any, **kwargs: Any) -> None:
        self._finish("on_tool_end", "ignore_agent", output, **kwargs)

    def on_tool_error(self, error: BaseException, **kwargs: Any) -> None:
        self._finish("on_tool_error", "ignore_agent", error, **kwargs)


class AsyncCallbackManagerForToolRun(AsyncRunManager):
    """Emits the events of one tool run, from async code."""

    __slots__ = ()
    _error_event = ("on_tool_error", "ignore_agent")

    async def on_tool_end(self, output: Any, **kwargs: Any) -> None:
        await self._afinish("on_tool_end", "ignore_agent", output, **kwargs)

    async def on_tool_error(self, error: BaseException, **kwargs: Any) -> None:
        await self._afinish("on_tool_error", "ignore_agent", error, **kwargs)


class CallbackManagerForRetrieverRun(RunManager):
    """Emits the events of one retriever run."""

    __slots__ = ()
    _error_event = ("on_retriever_error", "ignore_retriever")

    def on_retriever_end(self, documents: Sequence[Any], **kwargs: Any) -> None:
        self._finish("on_retriever_end", "ignore_retriever", documents, **kwargs)

    def on_retriever_error(self, error: BaseException, **kwargs: Any) -> None:
        self._finish("on_retriever_error", "ignore_retriever", error, **kwargs)


class AsyncCallbackManagerForRetrieverRun(AsyncRunManager):
    """Emits the events of one retriever run, from async code."""

    __slots__ = ()
    _error_event = ("on_retriever_error", "ignore_retriever")

    async def on_retriever_end(self, documents: Sequence[Any], **kwargs: Any) -> None:
        await self._afinish("on_retriever_end", "ignore_retriever", documents, **kwargs)

    async def on_retriever_error(self, error: BaseException, **kwargs: Any) -> None:
        await self._afinish("on_retriever_error", "ignore_retriever", error, **kwargs)


# --- managers that start runs ---------------------------------------------------------------

# The event that ends a run whose start event failed, and the flag that gates it.
_START_ERROR = {
    "on_llm_start": ("on_llm_error", "ignore_llm"),
    "on_chat_model_start": ("on_llm_error", "ignore_llm"),
    "on_chain_start": ("on_chain_error", "ignore_chain"),
    "on_tool_start": ("on_tool_error", "ignore_agent"),
    "on_retriever_start": ("on_retriever_error", "ignore_retriever"),
}


def _fail_started(runs: Sequence[RunManager], error: BaseException) -> None:
    """End runs already started in a batch whose later start failed."""
    for rm in runs:
        if not rm.ended:
            dispatch(rm.handlers, "on_llm_error", "ignore_llm", (error,), rm._end_kwargs())
            rm.ended = True


async def _afail_started(runs: Sequence[AsyncRunManager], error: BaseException) -> None:
    for rm in runs:
        if not rm.ended:
            await adispatch(rm.handlers, "on_llm_error", "ignore_llm", (error,), rm._end_kwargs())
            rm.ended = True


_RM = TypeVar("_RM", bound=BaseRunManager)


class CallbackManager(BaseCallbackManager):
    """Starts runs from sync code; each ``on_*_start`` returns the run's manager."""

    __slots__ = ()

    def end_started(self, error: BaseException) -> None:
        """End every run this manager started that has not ended, with ``error``.

        The code executing runs calls it in the ``except BaseException`` block around the whole
        run (start included), so a handler error or an interrupt landing anywhere, even between
        the start and the assignment of its run manager, never leaves a run or a span open.
        """
        for rm in self.unfinished():
            rm._finish(*rm._error_event, error)
        self._restore_context()

    def _start(
        self,
        cls: type[_RM],
        event: str,
        ignore: str,
        run_id: UUID | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> _RM:
        if run_id is None:
            run_id = uuid7()
        rm = cls(
            run_id=run_id,
            handlers=self.handlers,
            inheritable_handlers=self.inheritable_handlers,
            parent_run_id=self.parent_run_id,
            tags=self.tags,
            inheritable_tags=self.inheritable_tags,
            metadata=self.metadata,
            inheritable_metadata=self.inheritable_metadata,
        )
        self._track(rm)
        if self.handlers:
            try:
                handle_event(
                    self.handlers,
                    event,
                    ignore,
                    *args,
                    run_id=run_id,
                    parent_run_id=self.parent_run_id,
                    tags=self.tags,
                    metadata=self.metadata,
                    **kwargs,
                )
            except BaseException as error:
                # A handler raised (raise_error) or the call was interrupted after handlers saw
                # the start: they see the run fail, so no span or run state is left open.
                rm.ended = True
                end_event, end_ignore = _START_ERROR[event]
                dispatch(self.handlers, end_event, end_ignore, (error,), self._end_kwargs(run_id))
                raise
        return rm

    def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], run_id: UUID | None = None, **kwargs: Any
    ) -> list[CallbackManagerForLLMRun]:
        """One run per prompt, as in LangChain; ``run_id`` names the first."""
        runs: list[CallbackManagerForLLMRun] = []
        try:
            for i, prompt in enumerate(prompts):
                runs.append(
                    self._start(
                        CallbackManagerForLLMRun,
                        "on_llm_start",
                        "ignore_llm",
                        run_id if i == 0 else None,
                        (serialized, [prompt]),
                        kwargs,
                    )
                )
        except BaseException as error:
            _fail_started(runs, error)
            raise
        return runs

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        run_id: UUID | None = None,
        **kwargs: Any,
    ) -> list[CallbackManagerForLLMRun]:
        """One run per message list; handlers without it get ``on_llm_start``."""
        runs: list[CallbackManagerForLLMRun] = []
        try:
            for i, m in enumerate(messages):
                runs.append(
                    self._start(
                        CallbackManagerForLLMRun,
                        "on_chat_model_start",
                        "ignore_chat_model",
                        run_id if i == 0 else None,
                        (serialized, [m]),
                        kwargs,
                    )
                )
        except BaseException as error:
            _fail_started(runs, error)
            raise
        return runs

    def on_chain_start(
        self, serialized: dict[str, Any] | None, inputs: Any, run_id: UUID | None = None, **kwargs: Any
    ) -> CallbackManagerForChainRun:
        return self._start(
            CallbackManagerForChainRun,
            "on_chain_start",
            "ignore_chain",
            run_id,
            (serialized or {}, inputs),
            kwargs,
        )

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> CallbackManagerForToolRun:
        return self._start(
            CallbackManagerForToolRun,
            "on_tool_start",
            "ignore_agent",
            run_id,
            (serialized or {}, input_str),
            {"inputs": inputs, **kwargs},
        )

    def on_retriever_start(
        self, serialized: dict[str, Any] | None, query: str, run_id: UUID | None = None, **kwargs: Any
    ) -> CallbackManagerForRetrieverRun:
        return self._start(
            CallbackManagerForRetrieverRun,
            "on_retriever_start",
            "ignore_retriever",
            run_id,
            (serialized or {}, query),
            kwargs,
        )

    def on_custom_event(self, name: str, data: Any, run_id: UUID) -> None:
        """Dispatch a user-defined event attributed to ``run_id``."""
        if self.handlers:
            handle_event(
                self.handlers,
                "on_custom_event",
                "ignore_custom_event",
                name,
                data,
                run_id=run_id,
                tags=self.tags,
                metadata=self.metadata,
            )


class AsyncCallbackManager(BaseCallbackManager):
    """Starts runs from async code; each ``on_*_start`` returns the run's async manager."""

    __slots__ = ()

    async def end_started(self, error: BaseException) -> None:
        """End every run this manager started that has not ended, with ``error`` (see
        `CallbackManager.end_started`)."""
        for rm in self.unfinished():
            await rm._afinish(*rm._error_event, error)
        self._restore_context()

    @property
    def is_async(self) -> bool:
        return True

    async def _start(
        self,
        cls: type[_RM],
        event: str,
        ignore: str,
        run_id: UUID | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> _RM:
        if run_id is None:
            run_id = uuid7()
        rm = cls(
            run_id=run_id,
            handlers=self.handlers,
            inheritable_handlers=self.inheritable_handlers,
            parent_run_id=self.parent_run_id,
            tags=self.tags,
            inheritable_tags=self.inheritable_tags,
            metadata=self.metadata,
            inheritable_metadata=self.inheritable_metadata,
        )
        self._track(rm)
        if self.handlers:
            try:
                await ahandle_event(
                    self.handlers,
                    event,
                    ignore,
                    *args,
                    run_id=run_id,
                    parent_run_id=self.parent_run_id,
                    tags=self.tags,
                    metadata=self.metadata,
                    **kwargs,
                )
            except BaseException as error:
                # A handler raised (raise_error) or the call was interrupted after handlers saw
                # the start: they see the run fail, so no span or run state is left open.
                rm.ended = True
                end_event, end_ignore = _START_ERROR[event]
                await adispatch(self.handlers, end_event, end_ignore, (error,), self._end_kwargs(run_id))
                raise
        return rm

    async def on_llm_start(
        self, serialized: dict[str, Any], prompts: list[str], run_id: UUID | None = None, **kwargs: Any
    ) -> list[AsyncCallbackManagerForLLMRun]:
        runs: list[AsyncCallbackManagerForLLMRun] = []
        try:
            for i, prompt in enumerate(prompts):
                runs.append(
                    await self._start(
                        AsyncCallbackManagerForLLMRun,
                        "on_llm_start",
                        "ignore_llm",
                        run_id if i == 0 else None,
                        (serialized, [prompt]),
                        kwargs,
                    )
                )
        except BaseException as error:
            await _afail_started(runs, error)
            raise
        return runs

    async def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        run_id: UUID | None = None,
        **kwargs: Any,
    ) -> list[AsyncCallbackManagerForLLMRun]:
        runs: list[AsyncCallbackManagerForLLMRun] = []
        try:
            for i, m in enumerate(messages):
                runs.append(
                    await self._start(
                        AsyncCallbackManagerForLLMRun,
                        "on_chat_model_start",
                        "ignore_chat_model",
                        run_id if i == 0 else None,
                        (serialized, [m]),
                        kwargs,
                    )
                )
        except BaseException as error:
            await _afail_started(runs, error)
            raise
        return runs

    async def on_chain_start(
        self, serialized: dict[str, Any] | None, inputs: Any, run_id: UUID | None = None, **kwargs: Any
    ) -> AsyncCallbackManagerForChainRun:
        return await self._start(
            AsyncCallbackManagerForChainRun,
            "on_chain_start",
            "ignore_chain",
            run_id,
            (serialized or {}, inputs),
            kwargs,
        )

    async def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncCallbackManagerForToolRun:
        return await self._start(
            AsyncCallbackManagerForToolRun,
            "on_tool_start",
            "ignore_agent",
            run_id,
            (serialized or {}, input_str),
            {"inputs": inputs, **kwargs},
        )

    async def on_retriever_start(
        self, serialized: dict[str, Any] | None, query: str, run_id: UUID | None = None, **kwargs: Any
    ) -> AsyncCallbackManagerForRetrieverRun:
        return await self._start(
            AsyncCallbackManagerForRetrieverRun,
            "on_retriever_start",
            "ignore_retriever",
            run_id,
            (serialized or {}, query),
            kwargs,
        )

    async def on_custom_event(self, name: str, data: Any, run_id: UUID) -> None:
        if self.handlers:
            await ahandle_event(
                self.handlers,
                "on_custom_event",
                "ignore_custom_event",
                name,
                data,
                run_id=run_id,
                tags=self.tags,
                metadata=self.metadata,
            )


_SYNC_TWIN: dict[type[AsyncRunManager], type[RunManager]] = {
    AsyncRunManager: RunManager,
    AsyncCallbackManagerForLLMRun: CallbackManagerForLLMRun,
    AsyncCallbackManagerForChainRun: CallbackManagerForChainRun,
    AsyncCallbackManagerForToolRun: CallbackManagerForToolRun,
    AsyncCallbackManagerForRetrieverRun: CallbackManagerForRetrieverRun,
}

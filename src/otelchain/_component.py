"""What every runnable object shares: callbacks, verbose, tags, metadata, and how a call
turns them into a callback manager."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, ClassVar
from uuid import UUID

from otelchain.callbacks._manager import (
    AsyncCallbackManager,
    BaseCallbackManager,
    CallbackManager,
    Callbacks,
)
from otelchain.schema import RunInfo

__all__ = ["ChainOutput", "Component", "Envelope", "RequestConfig", "TextOutput", "split_config"]

RequestConfig = Mapping[str, Any]
_CONFIG_KEYS = frozenset({"callbacks", "tags", "metadata", "run_name", "run_id"})


class TextOutput(str):
    """A ``str`` result that also names the run that produced it (``.run_info``)."""

    __slots__ = ("run_info",)
    run_info: RunInfo | None

    def __new__(cls, value: str, run_info: RunInfo | None = None) -> TextOutput:
        self = super().__new__(cls, value)
        self.run_info = run_info
        return self


class ChainOutput(dict[str, Any]):
    """A chain's output dict; ``.run_info`` names its run without being a key, so equality and
    iteration are those of the plain dict (Python's version of LangChain JS's hidden ``__run``)."""

    __slots__ = ("run_info",)

    def __init__(self, data: Mapping[str, Any] = (), run_info: RunInfo | None = None) -> None:  # type: ignore[assignment]
        super().__init__(data)
        self.run_info = run_info


def split_config(config: RequestConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Merge an ``invoke``-style config mapping with explicit keyword options."""
    merged: dict[str, Any] = {}
    if config:
        unknown = set(config) - _CONFIG_KEYS - {"configurable", "recursion_limit", "max_concurrency"}
        if unknown:
            raise TypeError(f"unknown config key(s) {sorted(unknown)}; expected {sorted(_CONFIG_KEYS)}")
        merged.update({k: v for k, v in config.items() if k in _CONFIG_KEYS})
    for key in _CONFIG_KEYS:
        if kwargs.get(key) is not None:
            merged[key] = kwargs.pop(key)
        else:
            kwargs.pop(key, None)
    return merged


class Component:
    """Base of models, chains, tools and agents.

    ``callbacks`` given to the constructor apply to this object only; ``verbose=True`` prints
    this object's runs and its children's; ``tags`` and ``metadata`` label this object's runs.
    """

    type_name: ClassVar[str] = "component"

    def __init__(
        self,
        *,
        callbacks: Callbacks = None,
        verbose: bool = False,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.callbacks = callbacks
        self.verbose = bool(verbose)
        self.tags = list(tags) if tags else None
        self.metadata = dict(metadata) if metadata else None

    @property
    def name(self) -> str:
        return self.type_name

    def serialized(self) -> dict[str, Any]:
        """What handlers receive as ``serialized``: the class path, name and public settings.

        Never contains secrets: subclasses list only safe settings in `_serialized_kwargs`.
        """
        cls = type(self)
        return {
            "lc": 1,
            "type": "constructor",
            "id": [*cls.__module__.split("."), cls.__name__],
            "name": self.name,
            "kwargs": self._serialized_kwargs(),
        }

    def _serialized_kwargs(self) -> dict[str, Any]:
        return {}

    def _serialized_for(self, manager: BaseCallbackManager) -> dict[str, Any]:
        """`serialized()` only when some handler will read it (the no-handler path stays cheap)."""
        return self.serialized() if manager.handlers else {}

    def _start(
        self,
        callbacks: Callbacks,
        options: Mapping[str, Any],
        configure: Callable[..., Any],
        event: str,
        *args: Any,
        **extra: Any,
    ) -> tuple[Any, Callable[[], Any]]:
        """The call's manager (``configure``: sync or async, with the call's tags and metadata)
        and the start of its run, ``cm.<event>(serialized, *args, run_id=, name=run_name, **extra)``."""
        cm = configure(callbacks, options.get("tags"), options.get("metadata"))
        if options.get("run_name"):
            extra["name"] = options["run_name"]
        run_id = check_run_id(options.get("run_id"))
        return cm, functools.partial(
            getattr(cm, event), self._serialized_for(cm), *args, run_id=run_id, **extra
        )

    def _configure(
        self, callbacks: Callbacks, tags: Iterable[str] | None, metadata: Mapping[str, Any] | None
    ) -> CallbackManager:
        return CallbackManager.configure(
            callbacks, self.callbacks, self.verbose, tags, self.tags, metadata, self.metadata
        )

    def _aconfigure(
        self, callbacks: Callbacks, tags: Iterable[str] | None, metadata: Mapping[str, Any] | None
    ) -> AsyncCallbackManager:
        return AsyncCallbackManager.configure(
            callbacks, self.callbacks, self.verbose, tags, self.tags, metadata, self.metadata
        )


def check_options(options: Mapping[str, Any], allowed: Any) -> None:
    """Keyword options typed with ``**options: Unpack[SomeTypedDict]`` must be that dict's keys."""
    unknown = set(options) - allowed.__optional_keys__ - allowed.__required_keys__
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")


def check_run_id(run_id: Any) -> UUID | None:
    """A caller-supplied root run id must be a UUID (or its string form)."""
    if run_id is None or isinstance(run_id, UUID):
        return run_id
    if isinstance(run_id, str):
        try:
            return UUID(run_id)
        except ValueError:
            pass
    raise TypeError(f"run_id must be a UUID, got {run_id!r}")


# The event that ends a run of each kind when its body succeeded.
_END_EVENTS = {
    "chain": "on_chain_end",
    "llm": "on_llm_end",
    "tool": "on_tool_end",
    "retriever": "on_retriever_end",
}


def _nothing() -> None:
    """What ends a guard: nothing (its runs have their own envelopes)."""


async def _anothing() -> None:
    """Async `_nothing`."""


class Envelope:
    """One run from its start to its end, the same for chains, models, tools and agents.

    ``with Envelope(cm, start) as run: run.output = body(run.rm)`` (``async with`` in async
    code): ``start`` starts the run on the call's manager ``cm`` (or is the run manager of a run
    already started); the run's span is current around the body (unless ``activate=False``, for
    streams that activate per step); then ``run_info`` is read into ``run.info`` and the end event
    carries ``run.output``. Whatever raises wherever (the start, the body, the end event, an
    interrupt), ``cm.end_started`` ends every run the call started and has not ended, once.
    Sync and async share all of it but the awaiting.
    """

    __slots__ = ("_activate", "_cm", "_end_kwargs", "_scope", "_start", "info", "output", "rm")

    def __init__(
        self,
        cm: CallbackManager | AsyncCallbackManager,
        start: Any,
        *,
        end_kwargs: dict[str, Any] | None = None,
        activate: bool = True,
    ) -> None:
        self._cm = cm
        self._start = start
        self._end_kwargs = end_kwargs or {}
        self._activate = activate
        self._scope: Any = None
        self.rm: Any = None
        self.output: Any = None
        self.info: RunInfo | None = None

    @classmethod
    def guard(cls, cm: CallbackManager | AsyncCallbackManager) -> Envelope:
        """The protected region around several runs started together (a model's batch)."""
        return cls(cm, None, activate=False)

    def _enter(self, rm: Any) -> Envelope:
        if isinstance(rm, list):  # a model's start: one run per input, here one input
            (rm,) = rm
        self.rm = rm
        if self._activate and rm is not None:
            self._scope = rm.activate()
            self._scope.__enter__()
        return self

    def _close(self, error: BaseException | None) -> Callable[[], Any]:
        """Leave the span's scope; what ends the run: its end event, or `end_started`."""
        if self._scope is not None:
            self._scope.__exit__(None, None, None)
        if error is not None:
            return functools.partial(self._cm.end_started, error)
        if self.rm is None:  # a guard: the runs inside have their own envelopes
            return _nothing if isinstance(self._cm, CallbackManager) else _anothing
        self.info = self.rm.run_info()
        return functools.partial(getattr(self.rm, _END_EVENTS[self.rm.kind]), self.output, **self._end_kwargs)

    def __enter__(self) -> Envelope:
        try:
            return self._enter(self._start() if callable(self._start) else self._start)
        except BaseException as error:  # the start failed, or an interrupt landed here
            self._cm.end_started(error)
            raise

    def __exit__(
        self, et: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._close(error)()
        except BaseException as failure:  # the end event failed, or an interrupt landed here
            self._cm.end_started(failure)  # ends only what has not ended yet
            raise

    async def __aenter__(self) -> Envelope:
        try:
            return self._enter(await self._start() if callable(self._start) else self._start)
        except BaseException as error:
            await self._cm.end_started(error)  # type: ignore[misc]
            raise

    async def __aexit__(
        self, et: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._close(error)()
        except BaseException as failure:
            await self._cm.end_started(failure)  # type: ignore[misc]
            raise

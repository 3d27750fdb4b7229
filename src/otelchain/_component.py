"""What every runnable object shares: callbacks, verbose, tags, metadata, and how a call
turns them into a callback manager."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar
from uuid import UUID

from otelchain.callbacks._manager import (
    AsyncCallbackManager,
    AsyncRunManager,
    BaseCallbackManager,
    CallbackManager,
    Callbacks,
    RunManager,
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
    iteration are those of the plain dict (Python's version of the seed's hidden ``__run``)."""

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


# The events that end a run of each kind: (success, failure).
_END_EVENTS = {
    "chain": ("on_chain_end", "on_chain_error"),
    "llm": ("on_llm_end", "on_llm_error"),
    "tool": ("on_tool_end", "on_tool_error"),
}

_Emit = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class Envelope:
    """One run from its body to its end, the same for chains, models, tools and agents.

    ``with Envelope(rm, "chain") as run: run.output = body()`` (``async with`` in async code):
    the run's span is current around the body (unless ``activate=False``, for streams that
    activate per step), then exactly one event ends the run: the error event when the body
    raised (also for the runs in ``also``, started in the same batch), else ``run_info`` is read
    into ``run.info`` and the end event carries ``run.output``. Sync and async share all of it
    but the awaiting of that last event.
    """

    __slots__ = ("_also", "_end_kwargs", "_events", "_scope", "info", "output", "rm")

    def __init__(
        self,
        rm: RunManager | AsyncRunManager,
        kind: str,
        *,
        also: Sequence[RunManager | AsyncRunManager] = (),
        end_kwargs: dict[str, Any] | None = None,
        activate: bool = True,
    ) -> None:
        self.rm = rm
        self._events = _END_EVENTS[kind]
        self._also = also
        self._end_kwargs = end_kwargs or {}
        self._scope = rm.activate() if activate else None
        self.output: Any = None
        self.info: RunInfo | None = None

    def _enter(self) -> Envelope:
        if self._scope is not None:
            self._scope.__enter__()
        return self

    def _ending(self, error: BaseException | None) -> list[_Emit]:
        """Leave the span's scope, then say which events end the run(s)."""
        if self._scope is not None:
            self._scope.__exit__(None, None, None)
        if error is not None:
            return [(getattr(rm, self._events[1]), (error,), {}) for rm in (self.rm, *self._also)]
        self.info = self.rm.run_info()
        return [(getattr(self.rm, self._events[0]), (self.output,), self._end_kwargs)]

    def __enter__(self) -> Envelope:
        return self._enter()

    def __exit__(
        self, et: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        for emit, args, kwargs in self._ending(error):
            emit(*args, **kwargs)

    async def __aenter__(self) -> Envelope:
        return self._enter()

    async def __aexit__(
        self, et: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        for emit, args, kwargs in self._ending(error):
            await emit(*args, **kwargs)

"""`Chain`: a run that takes a dict of inputs and returns a dict of outputs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict
from uuid import UUID

from otelchain._component import (
    ChainOutput,
    Component,
    Envelope,
    RequestConfig,
    TextOutput,
    check_options,
    split_config,
)
from otelchain.callbacks._manager import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
    Callbacks,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Chain", "ChainOptions"]


class ChainOptions(TypedDict, total=False):
    """The keyword options of `Chain.call` and `Chain.acall`."""

    return_only_outputs: bool  # default True; False merges the inputs into the result
    tags: list[str] | None
    metadata: dict[str, Any] | None
    run_name: str | None
    run_id: UUID | str | None  # the root run's id (a UUID or its string form)
    include_run_info: bool  # also put the RunInfo under the "__run" key


class Chain(Component):
    """Base class of chains. Subclasses define ``input_keys``, ``output_keys`` and ``_call``."""

    type_name = "chain"

    @property
    def input_keys(self) -> list[str]:
        raise NotImplementedError

    @property
    def output_keys(self) -> list[str]:
        raise NotImplementedError

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        raise NotImplementedError

    async def _acall(
        self, inputs: dict[str, Any], run_manager: AsyncCallbackManagerForChainRun
    ) -> dict[str, Any]:
        """Default: no native async; run the sync body in a thread (contextvars kept)."""
        return await asyncio.to_thread(self._call, inputs, run_manager.get_sync())

    def _start_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for ``on_chain_start`` (e.g. the run type)."""
        return {}

    # --- input / output -----------------------------------------------------------------------
    def prep_inputs(self, inputs: Any) -> dict[str, Any]:
        """Accept a dict, or a bare value when the chain takes one input; check required keys."""
        if not isinstance(inputs, Mapping):
            keys = self.input_keys
            if len(keys) != 1:
                raise TypeError(
                    f"{type(self).__name__} takes a dict with keys {keys}, got {type(inputs).__name__}"
                )
            inputs = {keys[0]: inputs}
        checked: dict[str, Any] = dict(inputs)
        missing = [k for k in self.input_keys if k not in checked]
        if missing:
            raise ValueError(
                f"{type(self).__name__} is missing input key(s) {missing}; got {sorted(checked)}"
            )
        return checked

    def _checked(self, outputs: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in self.output_keys if k not in outputs]
        if missing:
            raise ValueError(f"{type(self).__name__} did not return output key(s) {missing}")
        return outputs

    # --- public API -------------------------------------------------------------------------
    def call(self, inputs: Any, callbacks: Callbacks = None, **options: Unpack[ChainOptions]) -> ChainOutput:
        """Run the chain. ``callbacks`` here apply to this call and every sub-call.

        Returns the outputs (plus the inputs unless ``return_only_outputs``) as a dict whose
        ``.run_info`` names the run; ``include_run_info=True`` also adds a ``"__run"`` key.
        """
        inputs, cm, start = self._begin(inputs, callbacks, options, self._configure)
        with Envelope(cm, start) as run:
            run.output = self._checked(self._call(inputs, run_manager=run.rm))
        return self._final(inputs, run, options)

    async def acall(
        self, inputs: Any, callbacks: Callbacks = None, **options: Unpack[ChainOptions]
    ) -> ChainOutput:
        """Async `call`."""
        inputs, cm, start = self._begin(inputs, callbacks, options, self._aconfigure)
        async with Envelope(cm, start) as run:
            run.output = self._checked(await self._acall(inputs, run_manager=run.rm))
        return self._final(inputs, run, options)

    def _begin(
        self, inputs: Any, callbacks: Callbacks, options: ChainOptions, configure: Callable[..., Any]
    ) -> tuple[dict[str, Any], Any, Callable[[], Any]]:
        """Check the call and build its manager; returns the inputs, the manager and the start."""
        check_options(options, ChainOptions)
        inputs = self.prep_inputs(inputs)
        cm, start = self._start(
            callbacks, options, configure, "on_chain_start", inputs, **self._start_kwargs()
        )
        return inputs, cm, start

    @staticmethod
    def _final(inputs: dict[str, Any], run: Envelope, options: ChainOptions) -> ChainOutput:
        outputs = run.output if options.get("return_only_outputs", True) else {**inputs, **run.output}
        result = ChainOutput(outputs, run.info)
        if options.get("include_run_info", False):
            result["__run"] = run.info
        return result

    __call__ = call

    def _single_output(self, outputs: ChainOutput) -> Any:
        if len(self.output_keys) != 1:
            raise ValueError(
                f"run() needs a chain with one output key; {type(self).__name__} has {self.output_keys}"
            )
        value = outputs[self.output_keys[0]]
        return TextOutput(value, outputs.run_info) if isinstance(value, str) else value

    def _run_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args and not kwargs:
            if len(args) != 1:
                raise TypeError("run() takes one positional argument")
            return args[0]
        if kwargs and not args:
            return kwargs
        raise TypeError("run() takes either one positional argument or keyword arguments, not both")

    def run(
        self,
        *args: Any,
        callbacks: Callbacks = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run with a single input (positional) or keyword inputs and return the single output."""
        out = self.call(self._run_inputs(args, kwargs), callbacks, tags=tags, metadata=metadata)
        return self._single_output(out)

    async def arun(
        self,
        *args: Any,
        callbacks: Callbacks = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        out = await self.acall(self._run_inputs(args, kwargs), callbacks, tags=tags, metadata=metadata)
        return self._single_output(out)

    def apply(
        self, input_list: Sequence[Mapping[str, Any]], callbacks: Callbacks = None
    ) -> list[ChainOutput]:
        """Call the chain on each input; the callbacks apply to every call."""
        return [self.call(inputs, callbacks) for inputs in input_list]

    async def aapply(
        self, input_list: Sequence[Mapping[str, Any]], callbacks: Callbacks = None
    ) -> list[ChainOutput]:
        return [await self.acall(inputs, callbacks) for inputs in input_list]

    def invoke(self, input: Any, config: RequestConfig | None = None, **kwargs: Any) -> ChainOutput:
        """LangChain-style: ``config`` may carry callbacks, tags, metadata, run_name, run_id.
        Returns inputs and outputs merged, as LangChain Python's ``Chain.invoke`` does."""
        return self.call(input, return_only_outputs=False, **split_config(config, kwargs), **kwargs)

    async def ainvoke(self, input: Any, config: RequestConfig | None = None, **kwargs: Any) -> ChainOutput:
        return await self.acall(input, return_only_outputs=False, **split_config(config, kwargs), **kwargs)

    def stream(self, input: Any, config: RequestConfig | None = None, **kwargs: Any) -> Iterator[ChainOutput]:
        """A chain streams its final output as one item."""
        yield self.invoke(input, config, **kwargs)

    async def astream(
        self, input: Any, config: RequestConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[ChainOutput]:
        yield await self.ainvoke(input, config, **kwargs)

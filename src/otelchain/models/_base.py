"""Base classes for completion models (`BaseLLM`) and chat models (`BaseChatModel`).

The base runs the callbacks: one run per input, `on_llm_new_token` for every streamed token
before the token is yielded, the run's span current around each step, and exactly one end or
error event per run (also when a stream is closed early). Subclasses only produce results:
`_generate` / `_stream` (and optionally `_agenerate` / `_astream`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from otelchain._component import Component, Envelope, RequestConfig, TextOutput, check_run_id, split_config
from otelchain.callbacks._manager import (
    AsyncCallbackManagerForLLMRun,
    BaseCallbackManager,
    CallbackManagerForLLMRun,
    Callbacks,
)
from otelchain.schema import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatGeneration,
    ChatGenerationChunk,
    Generation,
    GenerationChunk,
    LLMResult,
    MessageLike,
    coerce_messages,
)

__all__ = ["BaseChatModel", "BaseLLM", "BaseLanguageModel", "merge_llm_outputs", "usage_metadata"]

In = TypeVar("In")  # str for completion models, list[BaseMessage] for chat models
Chunk = TypeVar("Chunk", GenerationChunk, ChatGenerationChunk)


def merge_llm_outputs(outputs: Iterable[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """Merge provider outputs of several runs; token usage is summed."""
    merged: dict[str, Any] = {}
    usage: dict[str, int] = {}
    for out in outputs:
        if not out:
            continue
        for key, value in out.items():
            if key == "token_usage" and isinstance(value, Mapping):
                for k, v in value.items():
                    if isinstance(v, int):
                        usage[k] = usage.get(k, 0) + v
            else:
                merged.setdefault(key, value)
    if usage:
        merged["token_usage"] = usage
    return merged or None


def usage_metadata(token_usage: Mapping[str, int] | None) -> dict[str, int] | None:
    """A message's ``usage_metadata`` (LangChain's names) from OpenAI-style ``token_usage``."""
    if not token_usage:
        return None
    return {
        "input_tokens": token_usage.get("prompt_tokens", 0),
        "output_tokens": token_usage.get("completion_tokens", 0),
        "total_tokens": token_usage.get("total_tokens", 0),
    }


def _is_metadata_chunk(chunk: GenerationChunk | ChatGenerationChunk) -> bool:
    """A chunk carrying only provider output (e.g. the final usage chunk) is not a token."""
    info = chunk.generation_info
    return bool(info) and "llm_output" in info and not chunk.text  # type: ignore[operator]


class BaseLanguageModel(Component, Generic[In, Chunk]):
    """Shared machinery of completion and chat models."""

    is_chat: ClassVar[bool] = False
    _batch_hint: ClassVar[str] = "a list of inputs"
    _single_hint: ClassVar[str] = "a single input"

    def __init__(self, *, streaming: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.streaming = streaming

    # --- what subclasses provide ------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.type_name

    def _invocation_params(self, stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        """Request settings handlers see (never secrets)."""
        params = {"model": self.model_name, "_type": self.type_name, **kwargs}
        if stop:
            params["stop"] = stop
        return params

    def _generate(
        self, input: In, *, stop: list[str] | None, run_manager: CallbackManagerForLLMRun, **kwargs: Any
    ) -> LLMResult:
        """Produce one input's result: ``LLMResult(generations=[[...]], llm_output=...)``."""
        raise NotImplementedError

    def _stream(
        self, input: In, *, stop: list[str] | None, run_manager: CallbackManagerForLLMRun, **kwargs: Any
    ) -> Iterator[Chunk]:
        """Yield chunks; a chunk whose ``generation_info`` has ``llm_output`` and no text is
        provider output (usage), not a token. Optional: default generates once."""
        raise NotImplementedError

    async def _agenerate(
        self, input: In, *, stop: list[str] | None, run_manager: AsyncCallbackManagerForLLMRun, **kwargs: Any
    ) -> LLMResult:
        """Async `_generate`; default runs the sync one in a thread (contextvars kept)."""
        return await asyncio.to_thread(
            self._generate, input, stop=stop, run_manager=run_manager.get_sync(), **kwargs
        )

    def _astream(
        self, input: In, *, stop: list[str] | None, run_manager: AsyncCallbackManagerForLLMRun, **kwargs: Any
    ) -> AsyncIterator[Chunk]:
        """Async `_stream`; optional."""
        raise NotImplementedError

    # --- hooks that differ between completion and chat models -------------------------------
    def _normalize(self, input: Any) -> In:
        raise NotImplementedError

    def _chunk_generation(self, chunks: list[Chunk]) -> Generation | ChatGeneration:
        raise NotImplementedError

    def _stream_output(self, chunk: Chunk) -> Any:
        raise NotImplementedError

    def _as_chunks(self, result: LLMResult) -> list[Chunk]:
        """A generated result as the chunks a stream would have yielded."""
        raise NotImplementedError

    def _start_runs(
        self,
        cm: BaseCallbackManager,
        inputs: list[In],
        run_id: UUID | None,
        run_name: str | None,
        stop: list[str] | None,
        kwargs: dict[str, Any],
    ) -> Any:
        """Start one run per input on ``cm``: the run managers, or (async) a coroutine of them."""
        extra: dict[str, Any] = {}
        if cm.handlers:  # request settings only when some handler reads them
            extra["invocation_params"] = self._invocation_params(stop, **kwargs)
            extra["options"] = {"stop": stop}
            extra["batch_size"] = len(inputs)
            if run_name:
                extra["name"] = run_name
        start = getattr(cm, "on_chat_model_start" if self.is_chat else "on_llm_start")
        return start(self._serialized_for(cm), inputs, run_id=check_run_id(run_id), **extra)

    # --- one run ----------------------------------------------------------------------------
    def _has(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(BaseLanguageModel, name)

    def _run_one(
        self, input: In, stop: list[str] | None, rm: CallbackManagerForLLMRun, **kwargs: Any
    ) -> LLMResult:
        if self.streaming and self._has("_stream"):
            chunks: list[Chunk] = []
            for chunk in self._stream(input, stop=stop, run_manager=rm, **kwargs):
                if not _is_metadata_chunk(chunk):
                    rm.on_llm_new_token(chunk.text, chunk=chunk)
                chunks.append(chunk)
            return self._combine(chunks)
        return self._generate(input, stop=stop, run_manager=rm, **kwargs)

    async def _arun_one(
        self, input: In, stop: list[str] | None, rm: AsyncCallbackManagerForLLMRun, **kwargs: Any
    ) -> LLMResult:
        if self.streaming and self._has("_astream"):
            chunks: list[Chunk] = []
            async for chunk in self._astream(input, stop=stop, run_manager=rm, **kwargs):
                if not _is_metadata_chunk(chunk):
                    await rm.on_llm_new_token(chunk.text, chunk=chunk)
                chunks.append(chunk)
            return self._combine(chunks)
        if self.streaming and self._has("_stream"):
            return await asyncio.to_thread(self._run_one, input, stop, rm.get_sync(), **kwargs)
        return await self._agenerate(input, stop=stop, run_manager=rm, **kwargs)

    def _combine(self, chunks: list[Chunk]) -> LLMResult:
        """Fold streamed chunks into one result; the final metadata chunk's finish reason, usage
        and response metadata reach the generation, as in a non-streaming call."""
        llm_outputs = [c.generation_info.get("llm_output") for c in chunks if c.generation_info]
        return LLMResult(
            generations=[[self._chunk_generation(chunks)]], llm_output=merge_llm_outputs(llm_outputs)
        )

    # --- public API -------------------------------------------------------------------------
    def generate(
        self,
        inputs: Sequence[Any],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: UUID | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Run the model on each input (one run per input) and return all generations."""
        normalized = self._normalize_batch(inputs)
        cm = self._configure(callbacks, tags, metadata)
        runs: list[Envelope] = []
        with Envelope.guard(cm):  # every run of the batch ends, whatever raises where
            rms = self._start_runs(cm, normalized, run_id, run_name, stop, kwargs)
            for item, rm in zip(normalized, rms, strict=True):
                with Envelope(cm, rm) as run:
                    run.output = self._run_one(item, stop, rm, **kwargs)
                runs.append(run)
        return _batch_result(runs)

    async def agenerate(
        self,
        inputs: Sequence[Any],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: UUID | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Async `generate`."""
        normalized = self._normalize_batch(inputs)
        cm = self._aconfigure(callbacks, tags, metadata)
        runs: list[Envelope] = []
        async with Envelope.guard(cm):
            rms = await self._start_runs(cm, normalized, run_id, run_name, stop, kwargs)
            for item, rm in zip(normalized, rms, strict=True):
                async with Envelope(cm, rm) as run:
                    run.output = await self._arun_one(item, stop, rm, **kwargs)
                runs.append(run)
        return _batch_result(runs)

    def _normalize_batch(self, inputs: Sequence[Any]) -> list[In]:
        if isinstance(inputs, (str, BaseMessage)) or not isinstance(inputs, Sequence):
            raise TypeError(
                f"{type(self).__name__}.generate takes {self._batch_hint}, got {type(inputs).__name__}; "
                f"use call() or invoke() for {self._single_hint}"
            )
        return [self._normalize(item) for item in inputs]

    def _prompt_inputs(self, prompts: Sequence[str]) -> list[Any]:
        """What `generate_prompt` generates from: the prompt strings."""
        return list(prompts)

    def generate_prompt(
        self,
        prompts: Sequence[str],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Generate from formatted prompt strings (a chat model sends each as a user message)."""
        return self.generate(self._prompt_inputs(prompts), stop, callbacks, **kwargs)

    async def agenerate_prompt(
        self,
        prompts: Sequence[str],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Async `generate_prompt`."""
        return await self.agenerate(self._prompt_inputs(prompts), stop, callbacks, **kwargs)

    def predict(self, text: str, **kwargs: Any) -> TextOutput:
        """The model's text for one prompt (a chat model gets it as a user message)."""
        return _text(self.generate([self._normalize(text)], **kwargs))

    def stream(
        self,
        input: Any,
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Yield the output token by token; ``on_llm_new_token`` fires before each yield.

        The run's span is current around each step (not across yields); closing or abandoning
        the iterator ends the run with an error event.
        """
        item = self._normalize(input)
        cm = self._configure(callbacks, tags, metadata)
        chunks: list[Chunk] = []
        source: Iterator[Chunk] | None = None
        start = functools.partial(self._start_runs, cm, [item], run_id, run_name, stop, kwargs)
        with Envelope(cm, start, activate=False) as run:
            rm = run.rm
            try:
                with rm.activate():
                    source = self._chunks(item, stop, rm, kwargs)
                while True:
                    with rm.activate():
                        chunk = next(source, None)
                        if chunk is None:
                            break
                        token = not _is_metadata_chunk(chunk)
                        if token:
                            rm.on_llm_new_token(chunk.text, chunk=chunk)
                    chunks.append(chunk)
                    if token:
                        yield self._stream_output(chunk)
            except BaseException:
                close = getattr(source, "close", None)
                if close is not None:
                    close()
                raise
            run.output = self._combine(chunks)

    def _chunks(
        self, item: In, stop: list[str] | None, rm: CallbackManagerForLLMRun, kwargs: dict[str, Any]
    ) -> Iterator[Chunk]:
        if self._has("_stream"):
            return iter(self._stream(item, stop=stop, run_manager=rm, **kwargs))
        return iter(self._as_chunks(self._generate(item, stop=stop, run_manager=rm, **kwargs)))

    async def astream(
        self,
        input: Any,
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: UUID | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Async `stream`."""
        item = self._normalize(input)
        cm = self._aconfigure(callbacks, tags, metadata)
        chunks: list[Chunk] = []
        source: AsyncIterator[Chunk] | None = None
        start = functools.partial(self._start_runs, cm, [item], run_id, run_name, stop, kwargs)
        async with Envelope(cm, start, activate=False) as run:
            rm = run.rm
            try:
                with rm.activate():
                    source = await self._achunks(item, stop, rm, kwargs)
                while True:
                    with rm.activate():
                        try:
                            chunk = await source.__anext__()
                        except StopAsyncIteration:
                            break
                        token = not _is_metadata_chunk(chunk)
                        if token:
                            await rm.on_llm_new_token(chunk.text, chunk=chunk)
                    chunks.append(chunk)
                    if token:
                        yield self._stream_output(chunk)
            except BaseException:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):  # a broken source must not hide the real error
                        await aclose()
                raise
            run.output = self._combine(chunks)

    async def _achunks(
        self, item: In, stop: list[str] | None, rm: AsyncCallbackManagerForLLMRun, kwargs: dict[str, Any]
    ) -> AsyncIterator[Chunk]:
        if self._has("_astream"):
            return aiter(self._astream(item, stop=stop, run_manager=rm, **kwargs))
        result = await self._agenerate(item, stop=stop, run_manager=rm, **kwargs)
        return _aiter_list(self._as_chunks(result))


async def _aiter_list(items: list[Chunk]) -> AsyncIterator[Chunk]:
    for item in items:
        yield item


def _batch_result(runs: list[Envelope]) -> LLMResult:
    """One result for a batch: each run's generations, merged provider output, the runs."""
    results: list[LLMResult] = [run.output for run in runs]
    return LLMResult(
        generations=[r.generations[0] for r in results],
        llm_output=merge_llm_outputs(r.llm_output for r in results),
        run=[run.info for run in runs if run.info is not None],
    )


def _text(result: LLMResult) -> TextOutput:
    """The first generation's text, naming its run."""
    return TextOutput(result.generations[0][0].text, result.run[0] if result.run else None)


def _chunk_info(result: LLMResult) -> tuple[Generation | ChatGeneration, dict[str, Any] | None]:
    """A result's first generation and the ``generation_info`` of the one chunk it streams as."""
    gen = result.generations[0][0]
    info = dict(gen.generation_info or {})
    if result.llm_output:
        info["llm_output"] = result.llm_output
    return gen, info or None


def _merged_info(chunks: Sequence[GenerationChunk | ChatGenerationChunk]) -> dict[str, Any] | None:
    """The chunks' ``generation_info`` merged, without the provider output."""
    info: dict[str, Any] = {}
    for c in chunks:
        if c.generation_info:
            info.update({k: v for k, v in c.generation_info.items() if k != "llm_output"})
    return info or None


class BaseLLM(BaseLanguageModel[str, GenerationChunk]):
    """A completion model: text in, text out."""

    def _normalize(self, input: Any) -> str:
        if not isinstance(input, str):
            raise TypeError(f"{type(self).__name__} takes a prompt str, got {type(input).__name__}")
        return input

    def _chunk_generation(self, chunks: list[GenerationChunk]) -> Generation:
        return Generation(text="".join(c.text for c in chunks), generation_info=_merged_info(chunks))

    def _stream_output(self, chunk: GenerationChunk) -> str:
        return chunk.text

    def _as_chunks(self, result: LLMResult) -> list[GenerationChunk]:
        gen, info = _chunk_info(result)
        return [GenerationChunk(gen.text, info)]

    def call(
        self, prompt: str, stop: list[str] | None = None, callbacks: Callbacks = None, **kwargs: Any
    ) -> TextOutput:
        """Complete one prompt; the result is a ``str`` with ``.run_info``."""
        result = self.generate([self._normalize(prompt)], stop, callbacks, **kwargs)
        return TextOutput(result.generations[0][0].text, result.run[0] if result.run else None)

    async def acall(
        self, prompt: str, stop: list[str] | None = None, callbacks: Callbacks = None, **kwargs: Any
    ) -> TextOutput:
        """Async `call`."""
        result = await self.agenerate([self._normalize(prompt)], stop, callbacks, **kwargs)
        return TextOutput(result.generations[0][0].text, result.run[0] if result.run else None)

    __call__ = call

    def invoke(self, input: str, config: RequestConfig | None = None, **kwargs: Any) -> TextOutput:
        return self.call(input, **split_config(config, kwargs), **kwargs)

    async def ainvoke(self, input: str, config: RequestConfig | None = None, **kwargs: Any) -> TextOutput:
        return await self.acall(input, **split_config(config, kwargs), **kwargs)


class BaseChatModel(BaseLanguageModel[list[BaseMessage], ChatGenerationChunk]):
    """A chat model: messages in, a message out."""

    is_chat = True
    _batch_hint = "a list of message lists"
    _single_hint = "a single conversation"

    def _normalize(self, input: Any) -> list[BaseMessage]:
        return coerce_messages(input)

    def _prompt_inputs(self, prompts: Sequence[str]) -> list[Any]:
        return [[p] if isinstance(p, str) else p for p in prompts]

    def _chunk_generation(self, chunks: list[ChatGenerationChunk]) -> ChatGeneration:
        tool_calls = []
        response_metadata: dict[str, Any] = {}
        usage = None
        for c in chunks:
            tool_calls.extend(c.message.tool_calls)
            response_metadata.update(c.message.response_metadata)
            usage = c.message.usage_metadata or usage
        message = AIMessage(
            "".join(c.text for c in chunks),
            tool_calls=tool_calls,
            response_metadata=response_metadata,
            usage_metadata=usage,
            id=next((c.message.id for c in chunks if c.message.id), None),
        )
        return ChatGeneration(message, _merged_info(chunks))

    def _stream_output(self, chunk: ChatGenerationChunk) -> AIMessageChunk:
        return chunk.message

    def _as_chunks(self, result: LLMResult) -> list[ChatGenerationChunk]:
        gen, info = _chunk_info(result)
        msg = gen.message if isinstance(gen, ChatGeneration) else AIMessage(gen.text)
        chunk_msg = AIMessageChunk(
            msg.content,
            tool_calls=list(getattr(msg, "tool_calls", [])),
            response_metadata=dict(getattr(msg, "response_metadata", {})),
            usage_metadata=getattr(msg, "usage_metadata", None),
            id=msg.id,
        )
        return [ChatGenerationChunk(chunk_msg, info)]

    def call(
        self,
        messages: str | Sequence[MessageLike],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Answer one conversation; the message's ``run_info`` names the run."""
        return _message(self.generate([self._normalize(messages)], stop, callbacks, **kwargs))

    async def acall(
        self,
        messages: str | Sequence[MessageLike],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Async `call`."""
        return _message(await self.agenerate([self._normalize(messages)], stop, callbacks, **kwargs))

    __call__ = call

    def invoke(self, input: Any, config: RequestConfig | None = None, **kwargs: Any) -> AIMessage:
        return self.call(input, **split_config(config, kwargs), **kwargs)

    async def ainvoke(self, input: Any, config: RequestConfig | None = None, **kwargs: Any) -> AIMessage:
        return await self.acall(input, **split_config(config, kwargs), **kwargs)


def _message(result: LLMResult) -> AIMessage:
    """A chat result's first message, naming its run."""
    gen = result.generations[0][0]
    message = gen.message if isinstance(gen, ChatGeneration) else AIMessage(gen.text)
    if not isinstance(message, AIMessage):
        message = AIMessage(message.content)
    message.run_info = result.run[0] if result.run else None
    return message

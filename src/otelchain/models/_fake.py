"""Scripted models for tests, examples and the demo: real callback behaviour, no network."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, ClassVar

from otelchain.models._base import BaseChatModel, BaseLLM
from otelchain.schema import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatGeneration,
    ChatGenerationChunk,
    Generation,
    GenerationChunk,
    LLMResult,
    get_buffer_string,
)

__all__ = ["FakeListChatModel", "FakeListLLM", "split_tokens"]

Script = str | Sequence[str]  # a response, or the exact tokens to stream


def split_tokens(text: str) -> list[str]:
    """Split text word by word, keeping each word's leading whitespace (``" Why"``)."""
    return re.findall(r"\s*\S+|\s+", text)


class _ScriptedModel:
    """The scripted model: one body for completion and chat fakes, sync and async.

    Responses are used in turn (thread-safely), then again from the first. A response given as
    a list of strings is streamed exactly as those tokens; a plain string streams word by word.
    ``sleep`` pauses before each token (to test timing and cancellation). Subclasses say only
    how tokens become a result, a token chunk and the final usage chunk.
    """

    _default_model: ClassVar[str]

    def __init__(
        self,
        responses: Sequence[Script],
        *,
        sleep: float | None = None,
        model: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # the model base, next in the MRO
        if isinstance(responses, str) or not responses:
            raise ValueError("responses must be a non-empty list of strings (or of token lists)")
        self.sleep = sleep
        self.model = self._default_model if model is None else model
        self._responses = itertools.cycle(list(responses))
        self._lock = threading.Lock()

    def _next_tokens(self) -> list[str]:
        with self._lock:
            response = next(self._responses)
        return split_tokens(response) if isinstance(response, str) else list(response)

    @property
    def model_name(self) -> str:
        return self.model

    def _serialized_kwargs(self) -> dict[str, Any]:
        return {"model": self.model, "streaming": getattr(self, "streaming", False)}

    def _usage_output(self, input: Any, tokens: list[str]) -> dict[str, Any]:
        prompt_tokens = len((input if isinstance(input, str) else get_buffer_string(input)).split())
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        }
        return {"token_usage": usage, "model_name": self.model}

    def _result(self, input: Any, tokens: list[str]) -> LLMResult:
        raise NotImplementedError

    def _token_chunk(self, token: str) -> Any:
        raise NotImplementedError

    def _final_chunk(self, input: Any, tokens: list[str]) -> Any:
        raise NotImplementedError

    def _generate(self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any) -> LLMResult:
        if self.sleep:
            time.sleep(self.sleep)
        return self._result(input, self._next_tokens())

    async def _agenerate(
        self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any
    ) -> LLMResult:
        if self.sleep:
            await asyncio.sleep(self.sleep)
        return self._result(input, self._next_tokens())

    def _stream(
        self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any
    ) -> Iterator[Any]:
        tokens = self._next_tokens()
        for token in tokens:
            if self.sleep:
                time.sleep(self.sleep)
            yield self._token_chunk(token)
        yield self._final_chunk(input, tokens)

    async def _astream(
        self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        tokens = self._next_tokens()
        for token in tokens:
            if self.sleep:
                await asyncio.sleep(self.sleep)
            yield self._token_chunk(token)
        yield self._final_chunk(input, tokens)


class FakeListLLM(_ScriptedModel, BaseLLM):
    """A completion model that answers with scripted responses in turn (see `_ScriptedModel`)."""

    type_name = "fake-list"
    _default_model = "fake-list"

    def _result(self, input: str, tokens: list[str]) -> LLMResult:
        gen = Generation("".join(tokens), {"finish_reason": "stop"})
        return LLMResult([[gen]], self._usage_output(input, tokens))

    def _token_chunk(self, token: str) -> GenerationChunk:
        return GenerationChunk(token)

    def _final_chunk(self, input: str, tokens: list[str]) -> GenerationChunk:
        return GenerationChunk("", {"finish_reason": "stop", "llm_output": self._usage_output(input, tokens)})


class FakeListChatModel(_ScriptedModel, BaseChatModel):
    """A chat model that answers with scripted responses in turn (see `_ScriptedModel`)."""

    type_name = "fake-list-chat-model"
    _default_model = "fake-chat"

    def _result(self, input: list[BaseMessage], tokens: list[str]) -> LLMResult:
        out = self._usage_output(input, tokens)
        usage = out["token_usage"]
        message = AIMessage(
            "".join(tokens),
            response_metadata={"model_name": self.model, "finish_reason": "stop"},
            usage_metadata={
                "input_tokens": usage["prompt_tokens"],
                "output_tokens": usage["completion_tokens"],
                "total_tokens": usage["total_tokens"],
            },
        )
        return LLMResult([[ChatGeneration(message, {"finish_reason": "stop"})]], out)

    def _token_chunk(self, token: str) -> ChatGenerationChunk:
        return ChatGenerationChunk(AIMessageChunk(token))

    def _final_chunk(self, input: list[BaseMessage], tokens: list[str]) -> ChatGenerationChunk:
        message = AIMessageChunk("", response_metadata={"model_name": self.model, "finish_reason": "stop"})
        return ChatGenerationChunk(
            message, {"finish_reason": "stop", "llm_output": self._usage_output(input, tokens)}
        )

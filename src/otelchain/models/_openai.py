"""OpenAI models on the official ``openai`` client: `OpenAI` (Completions API) and `ChatOpenAI`
(Chat Completions API), sync and async, streaming with usage, tool calls, visible retries.

They work against OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LiteLLM).
The API key is kept as a secret value: it never reaches ``repr``, ``serialized``, callback
kwargs, logs or the console. Errors are the ``openai`` package's own exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.utils
import functools
import json
import logging
import math
import os
import random
import ssl
import time
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import openai
import tenacity
from pydantic import SecretStr

from otelchain._json import REDACTED, is_secret_key, register_secret, to_jsonable
from otelchain._secrets import register_header
from otelchain.callbacks._manager import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from otelchain.models._base import BaseChatModel, BaseLLM, usage_metadata
from otelchain.schema import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatGeneration,
    ChatGenerationChunk,
    ChatMessage,
    Generation,
    GenerationChunk,
    LLMResult,
    ToolCall,
    ToolMessage,
)

__all__ = ["ChatOpenAI", "OpenAI", "convert_to_openai_tool"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_INITIAL_RETRY_DELAY = 0.5  # the openai client's own backoff: 0.5s doubling up to 8s, 0-25% jitter
_MAX_RETRY_DELAY = 8.0
_MAX_RETRY_AFTER = 60.0  # server-directed delays above this are not waited for
_NOT_LOGGED = frozenset({"extra_headers", "extra_query"})  # may carry credentials


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    """One TLS context (the HTTP client's defaults) for all clients: loading the CA bundle
    takes ~50 ms, too much to repeat for every model and event loop."""
    try:
        from httpx2 import create_ssl_context
    except ImportError:  # openai before 3.x runs on httpx
        from httpx import create_ssl_context
    return create_ssl_context()


# --- secrets --------------------------------------------------------------------------------


def _secret(value: str | SecretStr | None) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    if not isinstance(value, str):
        raise TypeError(f"api_key must be a str, got {type(value).__name__}")
    return SecretStr(value)


def _mask(secret: str) -> str:
    return secret[:3] + "..." + secret[-4:] if len(secret) > 12 else REDACTED


def _replace(value: Any, secret: str, mask: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, mask)
    if isinstance(value, dict):
        return {k: _replace(v, secret, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, secret, mask) for v in value]
    return value


def _scrub(error: BaseException, secret: str | None) -> None:
    """Mask the key where a server echoed it into an error (message, args, body), in place."""
    if not secret or len(secret) < 8:
        return
    mask = _mask(secret)
    if secret in str(error) or secret in repr(getattr(error, "body", None)):
        error.args = tuple(_replace(a, secret, mask) for a in error.args)
        for attr in ("message", "body"):
            if hasattr(error, attr):
                setattr(error, attr, _replace(getattr(error, attr), secret, mask))


class _Scrubbing:
    """``with self._scrubbing:`` masks the API key in any `openai.OpenAIError` raised inside
    (one reusable object per model: no per-request cost)."""

    __slots__ = ("secret",)

    def __init__(self, secret: str | None) -> None:
        self.secret = secret

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if isinstance(error, openai.OpenAIError):
            _scrub(error, self.secret)


def _safe_url(url: str) -> tuple[str, str | None, int | None]:
    """The base URL without credentials or query, and its host and port (for span attributes)."""
    parts = urlsplit(url)
    host = parts.hostname
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        port = None
    netloc = (host or "") + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/"), host, port


def _public_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request options fit for handlers: no extra headers/query, secret-looking keys redacted."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in _NOT_LOGGED:
            continue
        out[key] = REDACTED if is_secret_key(key) else to_jsonable(value)
    return out


# --- retries --------------------------------------------------------------------------------


def _retry_after(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    if not isinstance(error, openai.APIStatusError) or response is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return float(email.utils.mktime_tz(parsed) - time.time())
    return None


def _retryable(error: BaseException) -> bool:
    """The openai client's own rule: connection errors, timeouts, 408/409/429/5xx, or the
    server's ``x-should-retry``; never when the server asks to wait longer than a minute."""
    if isinstance(error, openai.APIConnectionError):
        return True
    if not isinstance(error, openai.APIStatusError):
        return False
    after = _retry_after(error)
    if after is not None and math.isfinite(after) and after > _MAX_RETRY_AFTER:
        return False
    flag = error.response.headers.get("x-should-retry")
    if flag in ("true", "false"):
        return flag == "true"
    return error.status_code in (408, 409, 429) or error.status_code >= 500


def _retry_wait(state: tenacity.RetryCallState) -> float:
    """Honour ``retry-after(-ms)``; otherwise exponential backoff with jitter."""
    error = state.outcome.exception() if state.outcome is not None else None
    after = _retry_after(error) if error is not None else None
    if after is not None and math.isfinite(after) and 0 < after <= _MAX_RETRY_AFTER:
        return after
    delay = min(_INITIAL_RETRY_DELAY * 2.0 ** (state.attempt_number - 1), _MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * random.random())


def _retry_state(state: tenacity.RetryCallState) -> tenacity.RetryCallState:
    """What ``on_retry`` receives: a copy of the state (tenacity reuses it)."""
    log.debug("retrying an OpenAI request (attempt %d failed)", state.attempt_number)
    return copy.copy(state)


# --- messages and tools ---------------------------------------------------------------------


def _message_dict(message: BaseMessage) -> dict[str, Any]:
    """One otelchain message as a Chat Completions message."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name:
        out["name"] = message.name
    if isinstance(message, ToolMessage):
        out["tool_call_id"] = message.tool_call_id
    elif isinstance(message, AIMessage):
        calls = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.args)},
            }
            for c in message.tool_calls
        ] or message.additional_kwargs.get("tool_calls")
        if calls:
            out["tool_calls"] = calls
            out["content"] = message.content or None
    elif isinstance(message, ChatMessage):
        out["role"] = message.role
    return out


def _parse_tool_calls(raw: Sequence[Mapping[str, Any]]) -> tuple[list[ToolCall], list[dict[str, Any]]]:
    """Tool calls with JSON arguments parsed; calls whose arguments are not a JSON object are
    returned separately (with the error) rather than dropped."""
    calls: list[ToolCall] = []
    invalid: list[dict[str, Any]] = []
    for item in raw:
        fn = item.get("function") or {}
        name, arguments = str(fn.get("name") or ""), fn.get("arguments") or ""
        try:
            args = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            invalid.append({"id": item.get("id"), "name": name, "args": arguments, "error": str(exc)})
            continue
        if not isinstance(args, dict):
            invalid.append({"id": item.get("id"), "name": name, "args": arguments, "error": "not an object"})
            continue
        calls.append(ToolCall(name=name, args=args, id=item.get("id")))
    return calls, invalid


def _tool_call_fields(raw: list[dict[str, Any]]) -> tuple[list[ToolCall], dict[str, Any]]:
    """A message's parsed tool calls and its ``additional_kwargs``: the raw calls, and the
    calls whose arguments did not parse (kept, not dropped)."""
    calls, invalid = _parse_tool_calls(raw)
    extra: dict[str, Any] = {}
    if raw:
        extra["tool_calls"] = raw
    if invalid:
        extra["invalid_tool_calls"] = invalid
    return calls, extra


def _response_metadata(source: Any, finish_reason: str | None) -> dict[str, Any]:
    """A chat message's ``response_metadata`` from a response or a finished stream's state."""
    return {
        "model_name": source.model,
        "finish_reason": finish_reason,
        "id": source.id,
        "system_fingerprint": getattr(source, "system_fingerprint", None),
    }


def _tool_parameters(tool: Any) -> dict[str, Any]:
    for attr in ("parameters", "args_schema"):
        schema = getattr(tool, attr, None)
        if isinstance(schema, Mapping):
            return dict(schema)
        dump = getattr(schema, "model_json_schema", None)  # a pydantic model class
        if callable(dump):
            return dict(dump())
    return {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}


def convert_to_openai_tool(tool: Any) -> dict[str, Any]:
    """An OpenAI ``tools=`` entry from a tool dict, a function dict or a tool object
    (``to_openai_tool()``, or ``name`` / ``description`` / ``parameters`` or ``args_schema``)."""
    if isinstance(tool, Mapping):
        if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
            return dict(tool)
        if isinstance(tool.get("name"), str):
            function = {"parameters": {"type": "object", "properties": {}}, **tool}
            return {"type": "function", "function": function}
        raise TypeError("a tool dict needs 'name' (a function) or type='function' with 'function'")
    to_openai = getattr(tool, "to_openai_tool", None)
    if callable(to_openai):
        return dict(to_openai())
    name = getattr(tool, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"cannot use {type(tool).__name__} as a tool: expected a dict or an object with a name, "
            "description and args schema"
        )
    function = {"name": name, "description": str(getattr(tool, "description", "") or "")}
    return {"type": "function", "function": {**function, "parameters": _tool_parameters(tool)}}


def _tool_choice(choice: str | Mapping[str, Any]) -> Any:
    if isinstance(choice, str) and choice not in ("auto", "none", "required"):
        return {"type": "function", "function": {"name": choice}}
    return choice


# --- responses ------------------------------------------------------------------------------


def _usage(usage: Any) -> dict[str, int] | None:
    if usage is None:
        return None
    out = {}
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = getattr(usage, key, None)
        if isinstance(value, int):
            out[key] = value
    return out or None


def _llm_output(
    response_id: str | None, model: str | None, usage: Any, finish_reasons: list[str | None]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    token_usage = _usage(usage)
    if token_usage:
        out["token_usage"] = token_usage
    if model:
        out["model_name"] = model
    if response_id:
        out["id"] = response_id
    out["finish_reasons"] = finish_reasons
    return out


@dataclass
class _StreamState:
    """What a stream tells besides tokens: id, model, finish reason, usage, tool-call deltas."""

    id: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    usage: Any = None
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)

    def update(self, chunk: Any) -> list[Any]:
        """Record a chunk's metadata; return its first choice (as a list, empty if none)."""
        self.id = self.id or getattr(chunk, "id", None)
        self.model = self.model or getattr(chunk, "model", None)
        self.system_fingerprint = self.system_fingerprint or getattr(chunk, "system_fingerprint", None)
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        choices = [c for c in (getattr(chunk, "choices", None) or []) if getattr(c, "index", 0) == 0]
        for choice in choices:
            if getattr(choice, "finish_reason", None):
                self.finish_reason = choice.finish_reason
        return choices

    def add_tool_deltas(self, deltas: Sequence[Any] | None) -> None:
        for delta in deltas or []:
            call = self.tool_calls.setdefault(
                getattr(delta, "index", 0) or 0,
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            call["id"] = call["id"] or getattr(delta, "id", None)
            fn = getattr(delta, "function", None)
            if fn is not None:
                call["function"]["name"] += getattr(fn, "name", None) or ""
                call["function"]["arguments"] += getattr(fn, "arguments", None) or ""

    def llm_output(self) -> dict[str, Any]:
        return _llm_output(self.id, self.model, self.usage, [self.finish_reason])

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"llm_output": self.llm_output()}
        if self.finish_reason:
            info["finish_reason"] = self.finish_reason
        return info


def _malformed(stream: Any, exc: json.JSONDecodeError) -> openai.APIResponseValidationError:
    return openai.APIResponseValidationError(
        response=stream.response,
        body=exc.doc,
        message=f"Malformed server-sent event from the server: {exc.msg} (at char {exc.pos})",
    )


# --- the shared settings and plumbing -------------------------------------------------------


class _OpenAIBase:
    """Settings, clients, request parameters and retries shared by `OpenAI` and `ChatOpenAI`."""

    streaming: bool  # the model base's setting
    _invocation_type: str  # ``_type`` in the request settings handlers see
    _default_model: str

    def __init__(
        self,
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        streaming: bool = False,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        timeout: Any = None,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        model_kwargs: Mapping[str, Any] | None = None,
        model_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(streaming=streaming, **kwargs)  # type: ignore[call-arg]  # the model base, next in the MRO
        if model is None:  # `model_name` is LangChain's name for the same setting
            model = self._default_model if model_name is None else model_name
        if temperature is not None and (
            isinstance(temperature, bool) or not isinstance(temperature, (int, float))
        ):
            raise TypeError(f"temperature must be a number, got {type(temperature).__name__}")
        if not isinstance(model, str) or not model:
            raise TypeError(f"model must be a non-empty str, got {model!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative int, got {max_retries!r}")
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)):
            raise TypeError(f"max_tokens must be an int, got {type(max_tokens).__name__}")
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.model_kwargs = dict(model_kwargs or {})
        # extra headers and query may carry credentials: kept private, sent but never shown
        self._hidden_kwargs = {k: self.model_kwargs.pop(k) for k in _NOT_LOGGED if k in self.model_kwargs}
        self.api_key = _secret(api_key if api_key is not None else os.environ.get("OPENAI_API_KEY"))
        self.organization = organization
        self.timeout = timeout
        self.max_retries = max_retries
        options: dict[str, Any] = {
            "api_key": self.api_key.get_secret_value() if self.api_key else None,
            "organization": organization,
            "base_url": base_url or os.environ.get("OPENAI_BASE_URL") or None,
            "max_retries": 0,  # retries are ours, so handlers see them (on_retry)
            "default_headers": dict(default_headers) if default_headers else None,
        }
        if timeout is not None:
            options["timeout"] = timeout
        self._client_options = options
        # a server may echo credentials in an error message: scrub them wherever text is emitted
        register_secret(options["api_key"])
        self._scrubbing = _Scrubbing(options["api_key"])
        headers = {**(default_headers or {}), **(self._hidden_kwargs.get("extra_headers") or {})}
        for name, value in headers.items():
            register_header(str(name), str(value))
        # raises openai.OpenAIError when no key is set
        self._client = openai.OpenAI(
            **options, http_client=openai.DefaultHttpxClient(verify=_shared_ssl_context())
        )
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._server = _safe_url(str(self._client.base_url))
        self.base_url = self._server[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def model_name(self) -> str:
        return self.model

    @property
    def async_client(self) -> openai.AsyncOpenAI:
        """The ``openai.AsyncOpenAI`` client of the running event loop (made on first use).

        One per loop: pooled connections belong to the loop that opened them, so a model used
        under several ``asyncio.run`` calls never reuses a connection of a closed loop.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        client = self._async_clients.get(loop) if loop is not None else None
        if client is None:
            # the plain pooled client: the default wrapper's __del__ would schedule its close
            # on whatever loop runs at collection time, which is wrong for a finished loop
            http_client = openai.DefaultAsyncHttpxClient(verify=_shared_ssl_context())
            client = openai.AsyncOpenAI(**self._client_options, http_client=http_client)
            if loop is not None:
                self._async_clients[loop] = client
        return client

    @property
    def client(self) -> openai.OpenAI:
        """The ``openai.OpenAI`` client."""
        return self._client

    def _serialized_kwargs(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_name": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "streaming": self.streaming,
        }

    def _invocation_params(self, stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        """Request settings for handlers and spans: model, sampling, stop, server; no secrets."""
        _, host, port = self._server
        return {
            "model": self.model,
            "model_name": self.model,
            "_type": self._invocation_type,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": stop,
            "base_url": self.base_url,
            "server_address": host,
            "server_port": port,
            **_public_params({**self.model_kwargs, **kwargs}),
        }

    def _params(self, stop: list[str] | None, kwargs: Mapping[str, Any], *, stream: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        params.update(self.model_kwargs)
        params.update(self._hidden_kwargs)
        for key, value in kwargs.items():  # a call's extra headers add to the model's
            current = params.get(key)
            merge = key in _NOT_LOGGED and isinstance(current, Mapping) and isinstance(value, Mapping)
            params[key] = {**current, **value} if merge else value  # type: ignore[dict-item]
        if stop:
            params["stop"] = stop
        if stream:
            params["stream"] = True
            params["stream_options"] = {**(params.get("stream_options") or {}), "include_usage": True}
        return params

    def _retry_policy(self) -> dict[str, Any]:
        """When to retry (both modes): the client's own errors that a retry can fix, with backoff."""
        return {
            "stop": tenacity.stop_after_attempt(self.max_retries + 1),
            "wait": _retry_wait,
            "retry": tenacity.retry_if_exception(_retryable),
            "reraise": True,
        }

    def _request(self, run_manager: CallbackManagerForLLMRun, send: Callable[[], T]) -> T:
        """Send with retries (each announced by ``on_retry``); errors are the client's own."""

        def attempt() -> T:
            with self._scrubbing:
                return send()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            run_manager.on_retry(_retry_state(state))

        return tenacity.Retrying(before_sleep=before_sleep, **self._retry_policy())(attempt)

    async def _arequest(
        self, run_manager: AsyncCallbackManagerForLLMRun, send: Callable[[], Awaitable[T]]
    ) -> T:
        """Async `_request`."""

        async def attempt() -> T:
            with self._scrubbing:
                return await send()

        async def before_sleep(state: tenacity.RetryCallState) -> None:
            await run_manager.on_retry(_retry_state(state))

        return await tenacity.AsyncRetrying(before_sleep=before_sleep, **self._retry_policy())(attempt)

    # --- one request and one stream, for both models and both modes ------------------------
    def _create(self, client: Any, input: Any, params: dict[str, Any]) -> Any:
        """Send ``input`` with ``client`` (sync or async): the model's API call."""
        raise NotImplementedError

    def _result(self, response: Any) -> LLMResult:
        raise NotImplementedError

    def _delta_chunks(self, state: _StreamState, chunk: Any) -> list[Any]:
        """The chunks one streamed response chunk yields."""
        raise NotImplementedError

    def _final_chunks(self, state: _StreamState) -> Iterator[Any]:
        """What closes a stream: the provider output (and, for chat, assembled tool calls)."""
        raise NotImplementedError

    def _generate(self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any) -> LLMResult:
        params = self._params(stop, kwargs, stream=False)
        return self._result(self._request(run_manager, lambda: self._create(self._client, input, params)))

    async def _agenerate(
        self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any
    ) -> LLMResult:
        params = self._params(stop, kwargs, stream=False)
        client = self.async_client
        return self._result(await self._arequest(run_manager, lambda: self._create(client, input, params)))

    def _stream(
        self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any
    ) -> Iterator[Any]:
        params = self._params(stop, kwargs, stream=True)
        stream = self._request(run_manager, lambda: self._create(self._client, input, params))
        state = _StreamState()
        with contextlib.closing(self._iterate(stream)) as chunks:
            for chunk in chunks:
                yield from self._delta_chunks(state, chunk)
        yield from self._final_chunks(state)

    async def _astream(
        self, input: Any, *, stop: list[str] | None, run_manager: Any, **kwargs: Any
    ) -> AsyncIterator[Any]:
        params = self._params(stop, kwargs, stream=True)
        client = self.async_client
        stream = await self._arequest(run_manager, lambda: self._create(client, input, params))
        state = _StreamState()
        async with contextlib.aclosing(self._aiterate(stream)) as chunks:
            async for chunk in chunks:
                for out in self._delta_chunks(state, chunk):
                    yield out
        for final in self._final_chunks(state):
            yield final

    def _iterate(self, stream: Any) -> Generator[Any, None, None]:
        """Iterate a response stream, closing it when done or abandoned; malformed SSE data
        becomes ``openai.APIResponseValidationError``; errors are key-scrubbed."""
        with stream, self._scrubbing:
            iterator = iter(stream)
            while True:
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                except json.JSONDecodeError as exc:
                    raise _malformed(stream, exc) from exc
                yield item

    async def _aiterate(self, stream: Any) -> AsyncGenerator[Any, None]:
        """Async `_iterate`."""
        async with stream:
            with self._scrubbing:
                iterator = stream.__aiter__()
                while True:
                    try:
                        item = await iterator.__anext__()
                    except StopAsyncIteration:
                        return
                    except json.JSONDecodeError as exc:
                        raise _malformed(stream, exc) from exc
                    yield item


# --- the models -----------------------------------------------------------------------------


class OpenAI(_OpenAIBase, BaseLLM):
    """An OpenAI completion model (Completions API, e.g. ``gpt-3.5-turbo-instruct``)."""

    type_name = "openai"
    _invocation_type = "openai"
    _default_model = "gpt-3.5-turbo-instruct"

    @staticmethod
    def _result(response: Any) -> LLMResult:
        choices = list(response.choices or [])
        generations: list[Generation | ChatGeneration] = [
            Generation(c.text or "", {"finish_reason": c.finish_reason}) for c in choices
        ]
        output = _llm_output(response.id, response.model, response.usage, [c.finish_reason for c in choices])
        return LLMResult(generations=[generations or [Generation("")]], llm_output=output)

    def _create(self, client: Any, input: str, params: dict[str, Any]) -> Any:
        return client.completions.create(prompt=input, **params)

    def _delta_chunks(self, state: _StreamState, chunk: Any) -> list[GenerationChunk]:
        return [GenerationChunk(c.text) for c in state.update(chunk) if getattr(c, "text", None)]

    def _final_chunks(self, state: _StreamState) -> Iterator[GenerationChunk]:
        yield GenerationChunk("", state.info())


class ChatOpenAI(_OpenAIBase, BaseChatModel):
    """An OpenAI chat model (Chat Completions API, e.g. ``gpt-4o-mini``), with tool calling."""

    type_name = "openai"
    _invocation_type = "openai-chat"
    _default_model = "gpt-4o-mini"

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
    ) -> ChatOpenAI:
        """A copy of this model that offers ``tools`` (tool objects or OpenAI tool dicts)."""
        if isinstance(tools, (str, Mapping)) or not isinstance(tools, Sequence):
            raise TypeError("bind_tools takes a list of tools")
        bound = copy.copy(self)
        bound.model_kwargs = {**self.model_kwargs, "tools": [convert_to_openai_tool(t) for t in tools]}
        if tool_choice is not None:
            bound.model_kwargs["tool_choice"] = _tool_choice(tool_choice)
        if parallel_tool_calls is not None:
            bound.model_kwargs["parallel_tool_calls"] = parallel_tool_calls
        return bound

    def _chunk_generation(self, chunks: list[ChatGenerationChunk]) -> ChatGeneration:
        generation = super()._chunk_generation(chunks)
        for chunk in chunks:  # raw and invalid tool calls, as in non-streaming answers
            generation.message.additional_kwargs.update(chunk.message.additional_kwargs)
        return generation

    @staticmethod
    def _messages(messages: list[BaseMessage]) -> list[dict[str, Any]]:
        return [_message_dict(m) for m in messages]

    @staticmethod
    def _result(response: Any) -> LLMResult:
        choices = list(response.choices or [])
        output = _llm_output(response.id, response.model, response.usage, [c.finish_reason for c in choices])
        usage = usage_metadata(output.get("token_usage"))
        generations: list[Generation | ChatGeneration] = []
        for choice in choices:
            message = choice.message
            calls, extra = _tool_call_fields(
                [tc.model_dump() for tc in (getattr(message, "tool_calls", None) or [])]
            )
            if getattr(message, "refusal", None):
                extra["refusal"] = message.refusal
            ai = AIMessage(
                message.content or "",
                tool_calls=calls,
                additional_kwargs=extra,
                usage_metadata=usage,
                response_metadata=_response_metadata(response, choice.finish_reason),
                id=response.id,
            )
            generations.append(ChatGeneration(ai, {"finish_reason": choice.finish_reason}))
        return LLMResult(generations=[generations or [ChatGeneration(AIMessage(""))]], llm_output=output)

    def _create(self, client: Any, input: list[BaseMessage], params: dict[str, Any]) -> Any:
        return client.chat.completions.create(messages=self._messages(input), **params)

    def _delta_chunks(self, state: _StreamState, chunk: Any) -> list[ChatGenerationChunk]:
        out = self._delta_chunk(state, chunk)
        return [] if out is None else [out]

    @staticmethod
    def _delta_chunk(state: _StreamState, chunk: Any) -> ChatGenerationChunk | None:
        for choice in state.update(chunk):
            delta = getattr(choice, "delta", None)
            if delta is None:
                continue
            state.add_tool_deltas(getattr(delta, "tool_calls", None))
            if getattr(delta, "content", None):
                return ChatGenerationChunk(AIMessageChunk(delta.content, id=state.id))
        return None

    def _final_chunks(self, state: _StreamState) -> Iterator[ChatGenerationChunk]:
        """The assembled tool calls (if any, as one chunk), then the metadata chunk."""
        if state.tool_calls:
            calls, extra = _tool_call_fields([state.tool_calls[i] for i in sorted(state.tool_calls)])
            yield ChatGenerationChunk(
                AIMessageChunk("", tool_calls=calls, additional_kwargs=extra, id=state.id)
            )
        info = state.info()
        message = AIMessageChunk(
            "",
            usage_metadata=usage_metadata(info["llm_output"].get("token_usage")),
            response_metadata=_response_metadata(state, state.finish_reason),
            id=state.id,
        )
        yield ChatGenerationChunk(message, info)

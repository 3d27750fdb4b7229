"""An OpenAI-compatible HTTP server on 127.0.0.1 for tests: real HTTP and SSE (starlette +
uvicorn in a background thread on an ephemeral port), scripted replies and errors, recorded
requests.

Speaks ``POST /v1/chat/completions`` and ``POST /v1/completions``, JSON or SSE (``stream``),
with the final usage chunk only when the request asks for it (``stream_options.include_usage``),
as OpenAI does. Each request takes the next scripted `Reply` (or a default answer): HTTP error
codes with OpenAI error bodies, slow answers and slow streams (timeouts), streams cut mid-way,
malformed SSE, tool calls.

Use the ``openai_server`` fixture (tests/conftest.py) or ``with OpenAIServer() as server:``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = [
    "DEFAULT_CONTENT",
    "HOLD",
    "OpenAIServer",
    "ReceivedRequest",
    "Reply",
    "ToolCallReply",
    "tokens_of",
]

DEFAULT_CONTENT = "Hello from the test server."
# As a ``delay`` or ``stall``: wait until the test is over (`OpenAIServer.release`, called by
# `reset` and `stop`), so a client timeout is certain to fire first whatever the machine's load.
HOLD = math.inf
_ERRORS = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access."),
    408: ("timeout", None, "Request timed out."),
    409: ("conflict", None, "Conflict."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded."),
}


def tokens_of(text: str) -> list[str]:
    """Split text word by word, each word keeping its leading whitespace (``" Why"``)."""
    return re.findall(r"\s*\S+|\s+", text)


@dataclass
class ToolCallReply:
    """A tool call the scripted model makes; ``arguments`` is sent as JSON text (a str as is)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class Reply:
    """One scripted answer to the next request.

    ``content``: text (streamed word by word) or the exact tokens to stream. ``status`` other
    than 200 answers with an OpenAI error body (``error_message`` overrides the message).
    ``delay`` waits before answering; ``token_delay`` between streamed chunks; ``stall_after``
    pauses ``stall`` seconds after that many content chunks (a stream that goes quiet); `HOLD`
    as ``delay`` or ``stall`` waits until the server is released. ``cut_after``
    drops the connection after that many content chunks; ``malformed_after`` sends an invalid
    SSE data line after that many content chunks; ``error_after`` sends an SSE error event
    (``data: {"error": ...}``, with ``error_message`` if given) after that many content chunks.
    ``usage_extra`` adds fields to the usage (token details, a provider's ``cost``).
    """

    content: str | Sequence[str] | None = None
    tool_calls: Sequence[ToolCallReply] = ()
    status: int = 200
    error_message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    token_delay: float = 0.0
    stall_after: int | None = None
    stall: float = HOLD
    cut_after: int | None = None
    malformed_after: int | None = None
    error_after: int | None = None
    finish_reason: str | None = None
    model: str | None = None
    usage: bool = True
    usage_extra: dict[str, Any] = field(default_factory=dict)  # more usage fields (details, cost)


@dataclass
class ReceivedRequest:
    """What the server received: path, headers (lower-case names) and JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class _CutStream(Exception):
    """Raised inside a streaming body to make uvicorn drop the connection mid-response."""


class _QuietCuts(logging.Filter):
    """Keeps uvicorn from logging the tracebacks of deliberately cut streams."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _CutStream)


def _prompt_tokens(body: dict[str, Any]) -> int:
    if "messages" in body:
        texts = [str(m.get("content") or "") for m in body["messages"] if isinstance(m, dict)]
    else:
        prompt = body.get("prompt", "")
        texts = [p for p in prompt if isinstance(p, str)] if isinstance(prompt, list) else [str(prompt)]
    return sum(len(t.split()) for t in texts)


class OpenAIServer:
    """A scripted OpenAI-compatible server in a background thread; see the module docstring."""

    def __init__(self, *, model: str = "test-model-0001", expected_api_key: str | None = None) -> None:
        self.model = model
        self.expected_api_key = expected_api_key
        self.requests: list[ReceivedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._held: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._counter = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/completions", self._completions, methods=["POST"]),
            ]
        )

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> OpenAIServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        logging.getLogger("uvicorn.error").addFilter(_QuietCuts())
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="openai-test-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the OpenAI test server did not start")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self.release()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            if self._thread.is_alive():
                raise RuntimeError("the OpenAI test server did not stop")
        self._server = self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting ------------------------------------------------------------------------
    def add(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._replies.extend(replies)

    def pending(self) -> int:
        """How many scripted replies were not used yet."""
        with self._lock:
            return len(self._replies)

    def reset(self) -> None:
        """Forget scripted replies, recorded requests and the expected key; release held answers."""
        self.release()
        with self._lock:
            self._replies.clear()
            self.requests.clear()
        self.expected_api_key = None

    def release(self) -> None:
        """Let every answer waiting on `HOLD` go on (its client has usually given up by then)."""
        with self._lock:
            held, self._held = self._held, []
        for loop, event in held:
            loop.call_soon_threadsafe(event.set)

    async def _wait(self, seconds: float) -> None:
        """Sleep, or for `HOLD` wait until `release`."""
        if seconds != HOLD:
            await asyncio.sleep(seconds)
            return
        event = asyncio.Event()
        with self._lock:
            self._held.append((asyncio.get_running_loop(), event))
        await event.wait()

    def _next(self, path: str, request: Request, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(
                ReceivedRequest(path, {k.lower(): v for k, v in request.headers.items()}, body)
            )
            self._counter += 1
            return self._replies.popleft() if self._replies else Reply()

    # --- endpoints ------------------------------------------------------------------------
    async def _chat(self, request: Request) -> Response:
        return await self._answer(request, chat=True)

    async def _completions(self, request: Request) -> Response:
        return await self._answer(request, chat=False)

    async def _answer(self, request: Request, *, chat: bool) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._error(400, "We could not parse the JSON body of your request.", {})
        reply = self._next(request.url.path, request, body)
        if reply.delay:
            await self._wait(reply.delay)
        auth = request.headers.get("authorization", "")
        if self.expected_api_key is not None and auth != f"Bearer {self.expected_api_key}":
            given = auth.removeprefix("Bearer ")
            masked = given[:3] + "*" * max(len(given) - 7, 0) + given[-4:] if len(given) > 7 else "***"
            return self._error(401, f"Incorrect API key provided: {masked}.", reply.headers, code=401)
        if reply.status != 200:
            return self._error(reply.status, reply.error_message, reply.headers)
        if "model" not in body:
            return self._error(400, "you must provide a model parameter", reply.headers)

        tokens = self._tokens(reply)
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(max_tokens, int) and len(tokens) > max_tokens:
            tokens, finish = tokens[:max_tokens], "length"
        ident = f"{'chatcmpl' if chat else 'cmpl'}-test{self._counter:04d}"
        model = reply.model or self.model
        usage = {
            "prompt_tokens": _prompt_tokens(body),
            "completion_tokens": len(tokens),
            "total_tokens": _prompt_tokens(body) + len(tokens),
            **reply.usage_extra,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = self._events(reply, chat, ident, model, tokens, finish, usage if include_usage else None)
            return StreamingResponse(events, media_type="text/event-stream", headers=reply.headers)
        created = int(time.time())
        if chat:
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(tokens) or None,
                "refusal": None,
            }
            if reply.tool_calls:
                message["tool_calls"] = [
                    {"id": c.id or f"call_{i}", "type": "function", "function": self._function(c)}
                    for i, c in enumerate(reply.tool_calls)
                ]
            data: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_test",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            }
        else:
            data = {
                "id": ident,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [{"text": "".join(tokens), "index": 0, "logprobs": None, "finish_reason": finish}],
            }
        if reply.usage:
            data["usage"] = usage
        return JSONResponse(data, headers=reply.headers)

    @staticmethod
    def _tokens(reply: Reply) -> list[str]:
        if reply.content is None:
            return [] if reply.tool_calls else tokens_of(DEFAULT_CONTENT)
        if isinstance(reply.content, str):
            return tokens_of(reply.content)
        return list(reply.content)

    @staticmethod
    def _function(call: ToolCallReply) -> dict[str, str]:
        args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        return {"name": call.name, "arguments": args}

    @staticmethod
    def _error(status: int, message: str | None, headers: dict[str, str], code: Any = None) -> Response:
        kind, default_code, default_message = _ERRORS.get(status, ("server_error", None, "Error."))
        error = {
            "message": message or default_message,
            "type": kind,
            "param": None,
            "code": code if code is not None else default_code,
        }
        return JSONResponse({"error": error}, status_code=status, headers=headers)

    async def _events(
        self,
        reply: Reply,
        chat: bool,
        ident: str,
        model: str,
        tokens: list[str],
        finish: str,
        usage: dict[str, int] | None,
    ) -> AsyncIterator[bytes]:
        created = int(time.time())
        base: dict[str, Any] = {"id": ident, "created": created, "model": model}
        if chat:
            base |= {"object": "chat.completion.chunk", "system_fingerprint": "fp_test"}
        else:
            base["object"] = "text_completion"
        if usage is not None:
            base["usage"] = None

        def choice(delta: dict[str, Any] | str, finish_reason: str | None = None) -> bytes:
            if chat:
                c: dict[str, Any] = {
                    "index": 0,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            else:
                c = {"text": delta, "index": 0, "logprobs": None, "finish_reason": finish_reason}
            return _sse({**base, "choices": [c]})

        if chat:
            yield choice({"role": "assistant", "content": "", "refusal": None})
        for i, token in enumerate(tokens):
            if reply.cut_after is not None and i >= reply.cut_after:
                raise _CutStream
            if reply.malformed_after is not None and i >= reply.malformed_after:
                yield b'data: {"id": "broken", "choices": [{"delta": {"content": "oops"\n\n'
                return
            if reply.error_after is not None and i >= reply.error_after:
                message = reply.error_message or "The server is overloaded."
                yield _sse({"error": {"message": message, "type": "server_error"}})
                return
            if reply.stall_after is not None and i == reply.stall_after:
                await self._wait(reply.stall)
            if reply.token_delay:
                await asyncio.sleep(reply.token_delay)
            yield choice({"content": token} if chat else token)
        if reply.cut_after is not None:
            raise _CutStream
        if reply.malformed_after is not None:
            yield b"data: {not json at all\n\n"
            return
        for i, call in enumerate(reply.tool_calls):
            fn = self._function(call)
            head = {"index": i, "id": call.id or f"call_{i}", "type": "function"}
            yield choice({"tool_calls": [{**head, "function": {"name": fn["name"], "arguments": ""}}]})
            args = fn["arguments"]
            for start in range(0, len(args), 7):  # arguments arrive in fragments
                piece = args[start : start + 7]
                yield choice({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        yield choice({} if chat else "", finish)
        if usage is not None:
            yield _sse({**base, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()

"""Errors from the OpenAI models, sync and async, completions and chat: the caller gets the
``openai`` package's own exception, ``on_llm_error`` fires exactly once, tokens streamed before
the failure were delivered, and retries are visible as ``on_retry`` events."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import openai
import pytest
import tenacity

from otelchain.chat_models import ChatOpenAI
from otelchain.llms import OpenAI
from tests._servers.openai_server import HOLD, OpenAIServer, Reply
from tests.helpers import API_KEY, Recorder, call, stream

Make = Callable[..., Any]


@pytest.fixture(params=["llm", "chat"])
def make(request: pytest.FixtureRequest, make_llm: Make, make_chat: Make) -> Make:
    """Each error behaviour holds for the completion and the chat model."""
    return make_llm if request.param == "llm" else make_chat


def _text(out: Any) -> str:
    return out if isinstance(out, str) else str(out.content)


async def _fails(model: Any, mode: str, events: Recorder, error_type: type[BaseException]) -> BaseException:
    with pytest.raises(error_type) as info:
        await call(model, "hi", mode, callbacks=[events])
    assert type(info.value) is error_type  # the client's own class, not a wrapper
    (event,) = events.named("on_llm_error")  # exactly once
    assert event["error"] is info.value
    assert "on_llm_end" not in events.names
    return info.value


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_http_errors_are_the_clients_typed_exceptions(
    openai_server: OpenAIServer,
    make: Make,
    mode: str,
    status: int,
    error_type: type[BaseException],
    streaming: bool,
) -> None:
    openai_server.add(Reply(status=status))
    events = Recorder()
    error = await _fails(make(streaming=streaming), mode, events, error_type)
    assert isinstance(error, openai.APIStatusError) and error.status_code == status
    assert events.names[0] in ("on_llm_start", "on_chat_model_start")
    assert events.names[1:] == ["on_llm_error"]
    assert len(openai_server.requests) == 1


async def test_wrong_key_is_an_authentication_error(
    openai_server: OpenAIServer, make: Make, mode: str
) -> None:
    openai_server.expected_api_key = "sk-the-right-key-000000"
    events = Recorder()
    await _fails(make(max_retries=2), mode, events, openai.AuthenticationError)
    assert events.named("on_retry") == []  # 401 is not retried
    assert len(openai_server.requests) == 1


@pytest.mark.parametrize("streaming", [False, True])
async def test_retries_are_visible_and_then_succeed(
    openai_server: OpenAIServer, make: Make, mode: str, streaming: bool
) -> None:
    openai_server.add(
        Reply(status=500, headers={"retry-after-ms": "5"}),
        Reply(status=429, headers={"retry-after-ms": "5"}),
        Reply("finally"),
    )
    events = Recorder()
    out = await call(make(max_retries=2, streaming=streaming), "hi", mode, callbacks=[events])

    assert _text(out) == "finally"
    assert len(openai_server.requests) == 3
    retries = [e["retry_state"] for e in events.named("on_retry")]
    assert [r.attempt_number for r in retries] == [1, 2]
    assert all(isinstance(r, tenacity.RetryCallState) for r in retries)
    assert [type(r.outcome.exception()) for r in retries] == [
        openai.InternalServerError,
        openai.RateLimitError,
    ]
    assert retries[0].upcoming_sleep == pytest.approx(0.005)
    names = [n for n in events.names if n != "on_llm_new_token"]
    assert names[1:] == ["on_retry", "on_retry", "on_llm_end"]
    run_id = events.named("on_llm_end")[0]["run_id"]
    assert all(e["run_id"] == run_id for e in events.named("on_retry"))


async def test_retries_exhausted_raise_the_last_error(
    openai_server: OpenAIServer, make: Make, mode: str
) -> None:
    openai_server.add(*[Reply(status=503, headers={"retry-after-ms": "1"})] * 2)
    events = Recorder()
    await _fails(make(max_retries=1), mode, events, openai.InternalServerError)
    assert len(events.named("on_retry")) == 1
    assert len(openai_server.requests) == 2


async def test_server_can_forbid_retries(openai_server: OpenAIServer, make: Make, mode: str) -> None:
    openai_server.add(Reply(status=500, headers={"x-should-retry": "false"}))
    events = Recorder()
    await _fails(make(max_retries=3), mode, events, openai.InternalServerError)
    assert events.named("on_retry") == []


async def test_timeout(openai_server: OpenAIServer, make: Make, mode: str) -> None:
    openai_server.add(Reply(delay=HOLD))  # never answers while the test runs
    events = Recorder()
    await _fails(make(timeout=0.2), mode, events, openai.APITimeoutError)


async def test_stream_that_goes_quiet_times_out_after_delivering_tokens(
    openai_server: OpenAIServer, make: Make, mode: str
) -> None:
    openai_server.add(Reply(["one", " two", " three"], stall_after=2, stall=HOLD))
    events = Recorder()
    # The timeout only has to outlast the first two chunks; the third never comes.
    await _fails(make(timeout=1.0, streaming=True), mode, events, openai.APITimeoutError)
    assert events.tokens == ["one", " two"]
    assert events.names[-1] == "on_llm_error"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", [OpenAI, ChatOpenAI])
async def test_connection_refused_is_retried_then_raised(mode: str, kind: type[Any]) -> None:
    model = kind(api_key=API_KEY, base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=1)
    events = Recorder()
    await _fails(model, mode, events, openai.APIConnectionError)
    (retry,) = events.named("on_retry")
    assert type(retry["retry_state"].outcome.exception()) is openai.APIConnectionError


async def test_stream_cut_midway(openai_server: OpenAIServer, make: Make, mode: str) -> None:
    openai_server.add(Reply(["a", "b", "c", "d"], cut_after=2))
    events = Recorder()
    await _fails(make(streaming=True, max_retries=2), mode, events, openai.APIConnectionError)
    assert events.tokens == ["a", "b"]
    assert events.named("on_retry") == []  # a stream that already delivered tokens is not replayed


async def test_malformed_sse(openai_server: OpenAIServer, make: Make, mode: str) -> None:
    openai_server.add(Reply(["a", "b", "c"], malformed_after=2))
    events = Recorder()
    error = await _fails(make(streaming=True), mode, events, openai.APIResponseValidationError)
    assert events.tokens == ["a", "b"]
    assert "Malformed server-sent event" in str(error)


@pytest.mark.parametrize(
    ("reply", "error_type", "delivered"),
    [
        (Reply(["x", "y", "z"], cut_after=1), openai.APIConnectionError, ["x"]),
        (Reply(["x", "y", "z"], malformed_after=2), openai.APIResponseValidationError, ["x", "y"]),
        (Reply(["x", "y", "z"], error_after=2), openai.APIError, ["x", "y"]),
        (Reply(status=404), openai.NotFoundError, []),
    ],
)
async def test_public_stream_delivers_then_raises(
    openai_server: OpenAIServer,
    make: Make,
    mode: str,
    reply: Reply,
    error_type: type[BaseException],
    delivered: list[str],
) -> None:
    openai_server.add(reply)
    events = Recorder()
    received: list[Any] = []

    async def collect() -> None:
        received.extend(await stream(make(), "hi", mode, events))

    with pytest.raises(error_type):
        await collect()
    assert events.tokens == delivered
    assert len(events.named("on_llm_error")) == 1
    assert "on_llm_end" not in events.names


async def test_abandoned_stream_ends_the_run_once_and_frees_the_connection(
    openai_server: OpenAIServer, make: Make, mode: str
) -> None:
    openai_server.add(Reply(["a", "b", "c", "d"], token_delay=0.01))
    events = Recorder()
    model = make()
    if mode == "sync":
        iterator = model.stream("hi", callbacks=[events])
        first = next(iterator)
        iterator.close()
    else:
        aiterator = model.astream("hi", callbacks=[events])
        first = await aiterator.__anext__()
        await aiterator.aclose()
    assert _text(first) == "a"
    assert events.tokens == ["a"]
    assert len(events.named("on_llm_error")) == 1
    assert "on_llm_end" not in events.names
    assert _text(await call(model, "again", mode)) == "Hello from the test server."

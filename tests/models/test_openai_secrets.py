"""The API key never reaches anything a handler, a log or the console receives."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import openai
import pytest

from otelchain._json import dumps
from otelchain.chat_models import ChatOpenAI
from otelchain.llms import OpenAI
from tests._servers.openai_server import OpenAIServer, Reply, ToolCallReply
from tests.helpers import API_KEY, Recorder, call, make_traced, stream


def _everything(events: Recorder) -> list[str]:
    """Each event's args and kwargs as repr, str and JSON (as a tracer or logger would)."""
    out = []
    for name, args, kwargs in ((e.event, e.args, e.kwargs) for e in events.events):
        for value in (*args, *kwargs.values()):
            out += [name, repr(value), str(value), dumps(value)]
    return out


class Tool:
    name = "lookup"
    description = "Look something up."


@pytest.mark.parametrize("kind", [OpenAI, ChatOpenAI])
async def test_api_key_never_reaches_handlers_logs_or_console(
    openai_server: OpenAIServer,
    mode: str,
    kind: type[Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    openai_server.expected_api_key = API_KEY
    events = Recorder()
    model = kind(
        api_key=API_KEY,
        base_url=openai_server.base_url,
        verbose=True,
        max_retries=1,
        model_kwargs={"extra_headers": {"X-Gateway-Key": API_KEY}, "extra_body": {"api_key": API_KEY}},
    )
    if kind is ChatOpenAI:
        model = model.bind_tools([Tool()])
        openai_server.add(Reply(tool_calls=[ToolCallReply("lookup", {"q": "x"})]))
    else:
        openai_server.add(Reply("plain"))
    openai_server.add(Reply(status=500, headers={"retry-after-ms": "1"}), Reply("after a retry"))
    openai_server.add(Reply(["a", "b"]))  # streamed
    openai_server.add(Reply(status=401, error_message=f"Incorrect API key provided: {API_KEY}."))

    await call(model, "first", mode, callbacks=[events], extra_headers={"X-Call-Key": API_KEY})
    await call(model, "second", mode, callbacks=[events])
    assert len(await stream(model, "third", mode, events)) == 2
    with pytest.raises(openai.AuthenticationError) as info:
        await call(model, "fourth", mode, callbacks=[events])

    # the key was really sent, so the checks below are not vacuous
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in openai_server.requests)
    assert openai_server.requests[0].headers["x-gateway-key"] == API_KEY
    assert openai_server.requests[0].headers["x-call-key"] == API_KEY
    assert {"on_retry", "on_llm_new_token", "on_llm_error", "on_llm_end"} <= set(events.names)
    console = capsys.readouterr()
    assert "first" in console.out  # verbose printed the runs

    error = info.value
    assert API_KEY not in str(error) and API_KEY not in repr(error) and API_KEY not in repr(error.body)
    assert "sk-...Txyz" in str(error)  # masked as OpenAI masks it
    for text in _everything(events):
        assert API_KEY not in text
    assert API_KEY not in console.out + console.err
    for record in caplog.records:
        assert API_KEY not in record.getMessage()
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(model) + str(model) + dumps(model) + dumps(model.serialized())
    assert API_KEY not in repr(model.api_key)
    assert model.api_key.get_secret_value() == API_KEY


def test_settings_are_readable_without_the_secret(openai_server: OpenAIServer) -> None:
    model = ChatOpenAI(
        api_key=API_KEY, base_url=f"http://user:pw@127.0.0.1:{openai_server.port}/v1?api-key=k"
    )
    assert model.base_url == f"http://127.0.0.1:{openai_server.port}/v1"
    assert repr(model) == f"ChatOpenAI(model='gpt-4o-mini', base_url='{model.base_url}')"
    params = model._invocation_params(None)
    assert "pw" not in dumps(params) and "api-key" not in dumps(params)


def test_make_helpers_do_not_share_state(make_chat: Callable[..., ChatOpenAI]) -> None:
    first, second = make_chat(), make_chat(model="other")
    assert (first.model, second.model) == ("gpt-4o-mini", "other")


async def test_api_key_never_reaches_a_span(openai_server: OpenAIServer, mode: str) -> None:
    traced = make_traced(capture_content=True)
    handler = traced.handler
    openai_server.add(Reply(status=500, headers={"retry-after-ms": "1"}), Reply(["x", "y"]))
    openai_server.add(Reply(status=401, error_message=f"Incorrect API key provided: {API_KEY}."))
    model = ChatOpenAI(api_key=API_KEY, base_url=openai_server.base_url, streaming=True, max_retries=1)

    await call(model, "hello", mode, callbacks=[handler])
    with pytest.raises(openai.AuthenticationError):
        await call(model, "again", mode, callbacks=[handler])

    spans = traced.spans
    assert len(spans) == 2
    assert spans[0].attributes is not None and any(
        "127.0.0.1" in str(v) for v in spans[0].attributes.values()
    )
    assert [e.name for e in spans[0].events].count("retry") == 1
    for span in spans:
        assert API_KEY not in span.to_json()


@pytest.mark.parametrize("kind", [OpenAI, ChatOpenAI])
async def test_api_key_echoed_mid_stream_is_masked(
    openai_server: OpenAIServer, mode: str, kind: type[Any]
) -> None:
    """An error event inside a stream (not the request) that echoes the key: masked too."""
    openai_server.add(Reply(["a", "b", "c"], error_after=2, error_message=f"Overloaded for key {API_KEY}."))
    events = Recorder()
    model = kind(api_key=API_KEY, base_url=openai_server.base_url, max_retries=0)
    with pytest.raises(openai.APIError) as info:
        await stream(model, "hi", mode, events)
    assert events.tokens == ["a", "b"]  # the error came after the stream began
    error = info.value
    assert "Overloaded for key sk-...Txyz." in str(error)  # the server's message, masked
    assert API_KEY not in str(error) and API_KEY not in repr(error) and API_KEY not in repr(error.body)
    for text in _everything(events):
        assert API_KEY not in text

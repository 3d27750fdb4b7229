"""`otelchain.llms.OpenAI` (Completions API) over real HTTP to the test server, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest

from otelchain.llms import OpenAI
from otelchain.schema import LLMResult
from tests._servers.openai_server import DEFAULT_CONTENT, OpenAIServer, Reply, tokens_of
from tests.helpers import API_KEY, Recorder, call, stream

MakeLLM = Callable[..., OpenAI]


async def test_call_reports_usage_model_id_and_finish_reason(
    openai_server: OpenAIServer, make_llm: MakeLLM, mode: str
) -> None:
    openai_server.add(Reply("Paris is the capital.", model="served-model-7"))
    events = Recorder()
    out = await call(
        make_llm(model="gpt-3.5-turbo-instruct"), "What is the capital of France?", mode, callbacks=[events]
    )

    assert out == "Paris is the capital."
    assert out.run_info is not None
    assert events.names == ["on_llm_start", "on_llm_end"]
    result = events.one("on_llm_end")["response"]
    assert isinstance(result, LLMResult)
    assert result.generations[0][0].generation_info == {"finish_reason": "stop"}
    assert result.llm_output == {
        "token_usage": {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10},
        "model_name": "served-model-7",
        "id": result.llm_output["id"] if result.llm_output else None,
        "finish_reasons": ["stop"],
    }
    assert result.llm_output is not None and result.llm_output["id"].startswith("cmpl-test")
    (request,) = openai_server.requests
    assert request.path == "/v1/completions"
    assert request.body == {"model": "gpt-3.5-turbo-instruct", "prompt": "What is the capital of France?"}


async def test_streaming_fires_one_token_per_delta_in_order_and_requests_usage(
    openai_server: OpenAIServer, make_llm: MakeLLM, mode: str
) -> None:
    tokens = ["\n", "\n", "Q", ":", " Why", " did", " the", " chicken", " cross", "?"]
    openai_server.add(Reply(tokens))
    events = Recorder()
    llm = make_llm(streaming=True, max_tokens=25)
    out = await call(llm, "Tell me a joke.", mode, callbacks=[events])

    assert out == "".join(tokens)
    assert events.tokens == tokens
    assert events.names == ["on_llm_start", *["on_llm_new_token"] * len(tokens), "on_llm_end"]
    result = events.one("on_llm_end")["response"]
    assert result.generations[0][0].text == "".join(tokens)
    assert result.generations[0][0].generation_info == {"finish_reason": "stop"}
    assert result.llm_output["token_usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": len(tokens),
        "total_tokens": 4 + len(tokens),
    }
    assert result.llm_output["model_name"] == openai_server.model
    assert result.llm_output["finish_reasons"] == ["stop"]
    body = openai_server.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 25


async def test_stream_yields_each_token_after_its_event(
    openai_server: OpenAIServer, make_llm: MakeLLM, mode: str
) -> None:
    events = Recorder()
    chunks = await stream(make_llm(), "hi", mode, events)
    assert chunks == tokens_of(DEFAULT_CONTENT)
    assert events.names[-1] == "on_llm_end"
    result = events.one("on_llm_end")["response"]
    assert result.llm_output["token_usage"]["completion_tokens"] == len(chunks)
    assert result.generations[0][0].generation_info == {"finish_reason": "stop"}


async def test_max_tokens_truncates_with_finish_reason_length(
    openai_server: OpenAIServer, make_llm: MakeLLM, mode: str
) -> None:
    events = Recorder()
    out = await call(make_llm(max_tokens=2, streaming=mode == "async"), "hi", mode, callbacks=[events])
    assert out == "Hello from"
    result = events.one("on_llm_end")["response"]
    assert result.generations[0][0].generation_info == {"finish_reason": "length"}
    assert result.llm_output["finish_reasons"] == ["length"]


async def test_request_params_stop_model_kwargs_and_call_kwargs(
    openai_server: OpenAIServer, make_llm: MakeLLM, mode: str
) -> None:
    events = Recorder()
    llm = make_llm(model="m-1", temperature=0.2, max_tokens=7, model_kwargs={"top_p": 0.5, "seed": 3})
    if mode == "sync":
        llm.generate(["a b", "c"], stop=["\n"], callbacks=[events], presence_penalty=0.1)
    else:
        await llm.agenerate(["a b", "c"], stop=["\n"], callbacks=[events], presence_penalty=0.1)

    assert len(openai_server.requests) == 2
    for request, prompt in zip(openai_server.requests, ["a b", "c"], strict=True):
        assert request.body == {
            "model": "m-1",
            "prompt": prompt,
            "temperature": 0.2,
            "max_tokens": 7,
            "top_p": 0.5,
            "seed": 3,
            "presence_penalty": 0.1,
            "stop": ["\n"],
        }
    start = events.named("on_llm_start")[0]
    params = start["invocation_params"]
    assert params["model"] == "m-1"
    assert params["temperature"] == 0.2
    assert params["max_tokens"] == 7
    assert params["stop"] == ["\n"]
    assert params["top_p"] == 0.5
    assert params["presence_penalty"] == 0.1
    assert params["server_address"] == "127.0.0.1"
    assert params["server_port"] == openai_server.port
    assert params["base_url"] == openai_server.base_url
    assert start["serialized"]["name"] == "openai"
    assert start["serialized"]["id"][-1] == "OpenAI"
    assert start["serialized"]["kwargs"]["model"] == "m-1"


def test_serialized_names_class_and_model_only() -> None:
    llm = OpenAI(api_key=API_KEY, model="gpt-x", max_tokens=5, base_url="http://127.0.0.1:9/v1")
    serialized = llm.serialized()
    assert serialized["name"] == "openai"
    assert serialized["id"][-1] == "OpenAI"
    assert serialized["kwargs"] == {
        "model": "gpt-x",
        "model_name": "gpt-x",
        "temperature": None,
        "max_tokens": 5,
        "streaming": False,
    }


def test_model_name_is_an_alias_of_model() -> None:
    assert OpenAI(api_key=API_KEY, model_name="babbage-002").model == "babbage-002"


def test_env_defaults_for_key_and_base_url(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.expected_api_key = API_KEY
    llm = OpenAI(max_retries=0)
    assert llm.base_url == openai_server.base_url
    assert llm.call("hi") == DEFAULT_CONTENT
    assert openai_server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(openai.OpenAIError, match="api_key"):
        OpenAI()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": ""}, "model"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_tokens": "25"}, "max_tokens"),
        ({"api_key": 123}, "api_key"),
        ({"temperature": "hot"}, "temperature"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        OpenAI(**{"api_key": API_KEY, **kwargs})


async def test_organization_and_headers_are_sent(
    openai_server: OpenAIServer, make_llm: MakeLLM, mode: str
) -> None:
    llm = make_llm(organization="org-123", default_headers={"x-team": "otel"})
    await call(llm, "hi", mode)
    headers = openai_server.requests[0].headers
    assert headers["openai-organization"] == "org-123"
    assert headers["x-team"] == "otel"
    assert headers["authorization"] == f"Bearer {API_KEY}"

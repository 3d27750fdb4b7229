"""`otelchain.chat_models.ChatOpenAI` (Chat Completions API) over real HTTP, sync and async:
messages in and out, streaming with usage, tool calls, bind_tools."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from otelchain.chat_models import ChatOpenAI
from otelchain.schema import (
    AIMessage,
    AIMessageChunk,
    ChatGeneration,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from tests._servers.openai_server import DEFAULT_CONTENT, OpenAIServer, Reply, ToolCallReply, tokens_of
from tests.helpers import API_KEY, Recorder, call, stream

MakeChat = Callable[..., ChatOpenAI]


async def test_call_returns_message_with_usage_and_metadata(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str
) -> None:
    openai_server.add(Reply("Bonjour !", model="served-chat-1"))
    events = Recorder()
    message = await call(make_chat(model="gpt-4o-mini"), "Say hello in French", mode, callbacks=[events])

    assert isinstance(message, AIMessage)
    assert message.content == "Bonjour !"
    assert message.run_info is not None
    assert message.usage_metadata == {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}
    assert message.response_metadata["model_name"] == "served-chat-1"
    assert message.response_metadata["finish_reason"] == "stop"
    assert events.names == ["on_chat_model_start", "on_llm_end"]
    start = events.one("on_chat_model_start")
    assert start["serialized"]["name"] == "openai"
    assert start["serialized"]["id"][-1] == "ChatOpenAI"
    assert start["messages"] == [[HumanMessage("Say hello in French")]]
    params = start["invocation_params"]
    assert params["model"] == "gpt-4o-mini"
    assert params["_type"] == "openai-chat"
    assert (params["server_address"], params["server_port"]) == ("127.0.0.1", openai_server.port)
    result = events.one("on_llm_end")["response"]
    assert result.llm_output["token_usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    assert result.llm_output["model_name"] == "served-chat-1"
    assert result.llm_output["id"] == message.id
    assert result.llm_output["finish_reasons"] == ["stop"]
    assert result.generations[0][0].generation_info == {"finish_reason": "stop"}
    body = openai_server.requests[0].body
    assert openai_server.requests[0].path == "/v1/chat/completions"
    assert body == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in French"}]}


async def test_all_message_kinds_are_sent(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str
) -> None:
    history = [
        SystemMessage("You are terse."),
        HumanMessage("Weather in Paris?", name="ann"),
        AIMessage("", tool_calls=[ToolCall(name="weather", args={"city": "Paris"}, id="call_9")]),
        ToolMessage("sunny, 21C", tool_call_id="call_9"),
        ChatMessage("note", role="developer"),
        ("assistant", "It is sunny."),
        {"role": "user", "content": "Thanks"},
    ]
    await call(make_chat(), history, mode)
    assert openai_server.requests[0].body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?", "name": "ann"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "content": "sunny, 21C", "tool_call_id": "call_9"},
        {"role": "developer", "content": "note"},
        {"role": "assistant", "content": "It is sunny."},
        {"role": "user", "content": "Thanks"},
    ]


async def test_streaming_tokens_in_order_with_usage(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str
) -> None:
    events = Recorder()
    message = await call(make_chat(streaming=True), "hi", mode, callbacks=[events])

    expected = tokens_of(DEFAULT_CONTENT)
    assert message.content == DEFAULT_CONTENT
    assert events.tokens == expected  # the role-only first delta and the finish delta are not tokens
    assert events.names == ["on_chat_model_start", *["on_llm_new_token"] * len(expected), "on_llm_end"]
    for event in events.named("on_llm_new_token"):
        assert isinstance(event["chunk"].message, AIMessageChunk)
    result = events.one("on_llm_end")["response"]
    generation = result.generations[0][0]
    assert isinstance(generation, ChatGeneration)
    assert generation.generation_info == {"finish_reason": "stop"}
    assert generation.message.usage_metadata == {
        "input_tokens": 1,
        "output_tokens": len(expected),
        "total_tokens": 1 + len(expected),
    }
    assert generation.message.response_metadata["finish_reason"] == "stop"
    assert result.llm_output["token_usage"]["completion_tokens"] == len(expected)
    assert result.llm_output["id"].startswith("chatcmpl-test")
    assert message.usage_metadata == generation.message.usage_metadata
    assert openai_server.requests[0].body["stream_options"] == {"include_usage": True}


async def test_stream_yields_chunks_after_their_events(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str
) -> None:
    openai_server.add(Reply(["A", "B", "C"]))
    events = Recorder()
    chunks = await stream(make_chat(), [("system", "be brief"), ("human", "abc")], mode, events)
    assert [c.content for c in chunks] == ["A", "B", "C"]
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert events.names[-1] == "on_llm_end"


def _tool_reply() -> Reply:
    return Reply(
        tool_calls=[
            ToolCallReply("weather", {"city": "Paris", "unit": "C"}, id="call_a"),
            ToolCallReply("clock", {"tz": "Europe/Paris"}, id="call_b"),
        ]
    )


@pytest.mark.parametrize("streaming", [False, True])
async def test_tool_calls_in_responses(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str, streaming: bool
) -> None:
    openai_server.add(_tool_reply())
    events = Recorder()
    message = await call(make_chat(streaming=streaming), "weather and time?", mode, callbacks=[events])

    assert message.tool_calls == [
        ToolCall(name="weather", args={"city": "Paris", "unit": "C"}, id="call_a"),
        ToolCall(name="clock", args={"tz": "Europe/Paris"}, id="call_b"),
    ]
    assert message.content == ""
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert [c["function"]["name"] for c in message.additional_kwargs["tool_calls"]] == ["weather", "clock"]
    result = events.one("on_llm_end")["response"]
    assert result.generations[0][0].generation_info == {"finish_reason": "tool_calls"}
    assert result.llm_output["finish_reasons"] == ["tool_calls"]
    if streaming:  # argument fragments are assembled into one chunk carrying the whole calls
        assert events.tokens == [""]
        (token,) = events.named("on_llm_new_token")
        assert token["chunk"].message.tool_calls == message.tool_calls


async def test_stream_yields_tool_calls(openai_server: OpenAIServer, make_chat: MakeChat, mode: str) -> None:
    openai_server.add(_tool_reply())
    chunks = await stream(make_chat(), "weather?", mode)
    calls = [tc for c in chunks for tc in c.tool_calls]
    assert [tc.name for tc in calls] == ["weather", "clock"]
    assert calls[0].args == {"city": "Paris", "unit": "C"}


async def test_invalid_tool_arguments_are_kept_not_dropped(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str
) -> None:
    openai_server.add(Reply(tool_calls=[ToolCallReply("weather", '{"city": "Par', id="call_x")]))
    message = await call(make_chat(streaming=mode == "async"), "weather?", mode)
    assert message.tool_calls == []
    (invalid,) = message.additional_kwargs["invalid_tool_calls"]
    assert invalid["name"] == "weather"
    assert invalid["args"] == '{"city": "Par'
    assert invalid["id"] == "call_x"


class WeatherArgs(pydantic.BaseModel):
    city: str


class DuckTool:
    """Looks like an otelchain/LangChain tool: name, description, pydantic args_schema."""

    name = "weather"
    description = "Current weather for a city."
    args_schema = WeatherArgs


class PlainTool:
    name = "echo"
    description = "Echo the input."


async def test_bind_tools_sends_tools_and_choice(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str
) -> None:
    chat = make_chat()
    function_dict = {"name": "clock", "description": "Time now.", "parameters": {"type": "object"}}
    tool_dict = {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
    bound = chat.bind_tools([DuckTool(), PlainTool(), function_dict, tool_dict], tool_choice="weather")
    assert "tools" not in chat.model_kwargs  # the original model is unchanged
    events = Recorder()
    await call(bound, "weather?", mode, callbacks=[events])

    body = openai_server.requests[0].body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    tools = body["tools"]
    assert [t["function"]["name"] for t in tools] == ["weather", "echo", "clock", "add"]
    assert all(t["type"] == "function" for t in tools)
    assert tools[0]["function"]["description"] == "Current weather for a city."
    assert tools[0]["function"]["parameters"]["properties"] == {"city": {"title": "City", "type": "string"}}
    assert tools[1]["function"]["parameters"]["properties"] == {"input": {"type": "string"}}
    assert tools[3] == tool_dict
    params = events.one("on_chat_model_start")["invocation_params"]
    assert [t["function"]["name"] for t in params["tools"]] == ["weather", "echo", "clock", "add"]


def test_bind_tools_accepts_otelchain_tools(openai_server: OpenAIServer, make_chat: MakeChat) -> None:
    from otelchain.tools import tool

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    make_chat().bind_tools([multiply], tool_choice="required").call("2*3?")
    body = openai_server.requests[0].body
    (sent,) = body["tools"]
    assert sent["function"]["name"] == "multiply"
    assert set(sent["function"]["parameters"]["properties"]) == {"a", "b"}
    assert body["tool_choice"] == "required"


@pytest.mark.parametrize("bad", ["not a list", [42], [{"description": "nameless"}]])
def test_bind_tools_bad_input_is_a_clear_error(make_chat: MakeChat, bad: Any) -> None:
    with pytest.raises(TypeError, match="tool"):
        make_chat().bind_tools(bad)


async def test_tool_round_trip_with_history(
    openai_server: OpenAIServer, make_chat: MakeChat, mode: str
) -> None:
    openai_server.add(
        Reply(tool_calls=[ToolCallReply("weather", {"city": "Oslo"}, id="call_1")]), Reply("Cold.")
    )
    chat = make_chat().bind_tools([DuckTool()])
    first = await call(chat, "Weather in Oslo?", mode)
    history = [HumanMessage("Weather in Oslo?"), first, ToolMessage("-3C", tool_call_id="call_1")]
    second = await call(chat, history, mode)
    assert second.content == "Cold."
    sent = openai_server.requests[1].body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_1"
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
    assert sent[2] == {"role": "tool", "content": "-3C", "tool_call_id": "call_1"}


async def test_async_client_per_event_loop(openai_server: OpenAIServer) -> None:
    chat = ChatOpenAI(api_key=API_KEY, base_url=openai_server.base_url, max_retries=0)
    assert (await chat.acall("hi")).content == DEFAULT_CONTENT
    first = chat.async_client
    assert chat.async_client is first

    def other_loop() -> str:
        result: AIMessage = asyncio.run(chat.acall("again"))
        return result.content

    assert await asyncio.to_thread(other_loop) == DEFAULT_CONTENT
    assert chat.async_client is first

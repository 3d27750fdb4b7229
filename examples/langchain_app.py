"""A LangChain / LangGraph app traced with one line: ``otelchain.tracing.instrument()``.

An LCEL chain, a tool-calling agent (``langchain.agents.create_agent``) and a tool that calls an
HTTP service. Nothing in the app passes a callback: ``instrument()`` adds otelchain's handler to
every run tree, the httpx instrumentation adds the HTTP client spans, and each HTTP span nests under
the run that made it. Each finished trace prints as a tree.

    pip install -e ".[langchain]" opentelemetry-instrumentation-httpx    # in the checkout
    python examples/langchain_app.py     # a scripted model; with OPENAI_API_KEY set, ChatOpenAI
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelchain.tracing import ConsoleSpanTreeExporter, instrument


class WeatherService(BaseHTTPRequestHandler):
    """A tiny HTTP service the agent's tool calls (on 127.0.0.1, stopped at the end)."""

    def do_GET(self) -> None:
        body = json.dumps({"city": self.path.rsplit("/", 1)[-1], "sky": "sunny", "celsius": 21}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep the terminal for the trees
        return


class ScriptedChat(GenericFakeChatModel):
    """Stands in for a real chat model when no OPENAI_API_KEY is set (tool calls included)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChat:
        return self


def scripted_replies() -> Iterator[AIMessage]:
    yield AIMessage("Bonjour ! Ravi de vous aider.")
    yield AIMessage("", tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call_1"}])
    yield AIMessage("It is sunny in Paris, 21 °C.")


def make_model() -> BaseChatModel:
    if os.environ.get("OPENAI_API_KEY"):
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model="gpt-4o-mini")
    return ScriptedChat(messages=scripted_replies())


def main() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter()))
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)

    instrument(provider)  # the one line: every LangChain / LangGraph run becomes a span

    server = ThreadingHTTPServer(("127.0.0.1", 0), WeatherService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    @tool
    def weather(city: str) -> str:
        """Current weather for a city."""
        return httpx.get(f"{base}/weather/{city}").text

    try:
        model = make_model()
        chain = ChatPromptTemplate.from_messages([("user", "Greet me in {language}.")]) | model
        print("chain:", (chain | StrOutputParser()).invoke({"language": "French"}))
        agent = create_agent(model, [weather], name="weather_assistant")
        result = agent.invoke({"messages": [("user", "What's the weather in Paris?")]})
        print("agent:", result["messages"][-1].content)
    finally:
        server.shutdown()
        server.server_close()
        HTTPXClientInstrumentor().uninstrument()
        provider.shutdown()


if __name__ == "__main__":
    main()

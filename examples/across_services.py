"""One trace across two processes: an agent's tool calls an HTTP service, and the service's server
span nests under the tool's ``execute_tool`` span.

The app turns on otelchain's opt-in trace-context propagation (`enable_http_propagation()`), so
the tool's httpx request carries a W3C ``traceparent``; with the standard httpx instrumentation
(``opentelemetry-instrument``, or ``HTTPXClientInstrumentor().instrument()``) that header comes
from its client span instead, and nothing else changes. The service is a second process with its
own OpenTelemetry SDK and the ASGI middleware, which continues the caller's trace.

    python examples/across_services.py           # both print their spans; ids show the nesting
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 python examples/across_services.py
        # both export to the collector: Jaeger shows one trace, two services
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.tools import Tool
from otelchain.tracing import configure, enable_http_propagation, instrument


def serve(port: int) -> None:
    """The weather service: its own SDK (service.name weather-service) and the ASGI middleware."""
    import uvicorn
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    provider = configure(service_name="weather-service")

    async def weather(request: Request) -> JSONResponse:
        city = request.query_params.get("city", "?")
        return JSONResponse(
            {"city": city, "forecast": "sunny, 21°C", "traceparent": request.headers.get("traceparent")}
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[Route("/weather", weather), Route("/health", health)],
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                tracer_provider=provider,
                excluded_urls="/health",  # the readiness probe is not part of the story
                exclude_spans=["receive", "send"],  # one SERVER span per request
            )
        ],
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@contextmanager
def weather_service() -> Iterator[str]:
    """Start the service in a second process; stop it with Ctrl-C's signal so it flushes its spans."""
    import signal
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # up to ~10 s for the service to answer
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the weather service did not start")
        yield url
    finally:
        child.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly; configure() flushes at exit
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> None:
    provider = configure(service_name="otelchain-agent")  # console tree unless an endpoint is set
    instrument(provider)
    enable_http_propagation()  # opt-in: tool HTTP calls carry the trace context

    with weather_service() as url:
        seen: dict[str, str] = {}

        def forecast(city: str) -> str:
            reply = httpx.get(f"{url}/weather", params={"city": city.strip()}, timeout=10).json()
            seen["traceparent"] = reply["traceparent"]
            return str(reply["forecast"])

        tools = [Tool(name="weather", description="The weather forecast for a city.", func=forecast)]
        model = FakeListChatModel(
            [
                "I should check the forecast.\nAction: weather\nAction Input: Paris",
                "Final Answer: Sunny, 21°C.",
            ]
        )
        agent = ZeroShotAgent(llm_chain=LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools)))
        executor = AgentExecutor.from_agent_and_tools(agent=agent, tools=tools)
        result = executor.call({"input": "What is the weather in Paris?"})
        print(result["output"])
        info = result.run_info
        assert info is not None
        print(f"trace_id={info.trace_id}")
        print(f"the service received traceparent={seen['traceparent']}")
        provider.force_flush()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()

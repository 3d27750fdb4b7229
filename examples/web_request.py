"""A web request whose server span parents the LLM runs it causes (Starlette + ASGI middleware).

OpenTelemetry's ASGI middleware opens a SERVER span per request (continuing the caller's trace
if it sent a `traceparent` header); otelchain's root run nests under that ambient span, so the
trace reads: GET /ask -> llm_chain -> chat <model>.

    python examples/web_request.py            # serve on 127.0.0.1, send one request, print the tree
    python examples/web_request.py --serve    # keep serving on http://127.0.0.1:8000/ask?q=...
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 python examples/web_request.py
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx
import uvicorn
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.prompts import PromptTemplate
from otelchain.tracing import configure, instrument

provider = configure(service_name="otelchain-web")  # console tree unless an endpoint is set
instrument(provider)

chain = LLMChain(
    llm=FakeListChatModel(["Spans nest by run.", "Tokens are span events."], streaming=True),
    prompt=PromptTemplate.from_template("Answer briefly: {question}"),
)


async def ask(request: Request) -> JSONResponse:
    """Run the chain for ?q=...; the reply carries the trace id so a client can find the trace."""
    question = request.query_params.get("q", "").strip()
    if not question:
        return JSONResponse({"error": "missing query parameter q"}, status_code=400)
    result = await chain.acall({"question": question})
    info = result.run_info
    return JSONResponse(
        {"answer": result["text"], "trace_id": info and info.trace_id, "run_span_id": info and info.span_id}
    )


app = Starlette(
    routes=[Route("/ask", ask)],
    middleware=[
        Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=provider,
            exclude_spans=["receive", "send"],  # one SERVER span per request, no per-message spans
        )
    ],
)


def demo() -> None:
    """Serve on an ephemeral 127.0.0.1 port, send one request, stop, print the span tree."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the web server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    response = httpx.get(f"http://127.0.0.1:{port}/ask", params={"q": "How do otelchain spans nest?"})
    print(response.status_code, response.json())
    server.should_exit = True
    thread.join(10)
    provider.force_flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--serve", action="store_true", help="keep serving on 127.0.0.1:8000")
    if parser.parse_args().serve:
        uvicorn.run(app, host="127.0.0.1", port=8000)
    else:
        demo()

"""Drop the OpenTelemetry handler into an existing app: constructor vs request scoping.

`OpenTelemetryCallbackHandler` is a callback handler like any other, so where you pass it decides
what becomes a span:

- constructor scoping: given to one object (here the model) it traces that object's runs only,
  wherever the object is called from;
- request scoping: given to one call it traces that call and every sub-call (the whole tree);
- `otelchain.tracing.instrument()` traces every run in the process (not shown here).

    python examples/existing_app.py
"""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.prompts import PromptTemplate
from otelchain.tracing import ConsoleSpanTreeExporter, OpenTelemetryCallbackHandler


class SupportDesk:
    """The "existing app": builds its chain once, answers many requests."""

    def __init__(self, model: FakeListChatModel) -> None:
        self.chain = LLMChain(llm=model, prompt=PromptTemplate.from_template("Customer asks: {question}"))

    def answer(self, question: str, callbacks: list[OpenTelemetryCallbackHandler] | None = None) -> str:
        return str(self.chain.call({"question": question}, callbacks=callbacks)["text"])


def main() -> None:
    # Your app's tracer provider; here it prints each finished trace as a tree right away.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter()))
    handler = OpenTelemetryCallbackHandler(provider)
    replies = ["Try turning it off and on again.", "Your order ships tomorrow.", "You're welcome!"]

    print("== constructor scoping: the handler is given to the model only")
    traced_model = FakeListChatModel(replies, streaming=True, callbacks=[handler])
    desk = SupportDesk(traced_model)
    print("reply:", desk.answer("My router is down"))
    print("(only the model's run is a span: the chain that called it is not traced)\n")

    print("== request scoping: the handler is passed with one request")
    desk = SupportDesk(FakeListChatModel(replies, streaming=True))
    print("reply:", desk.answer("Where is my order?", callbacks=[handler]))
    print("(the whole request is a tree: llm_chain -> chat)\n")

    print("== a request without the handler")
    print("reply:", desk.answer("Thanks!"))
    print("(no spans)")
    provider.shutdown()


if __name__ == "__main__":
    main()

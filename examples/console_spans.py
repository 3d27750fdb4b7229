"""Console spans with no server: every run becomes a span, printed as a tree when the trace ends.

No key, no collector: `configure()` with no OTLP endpoint exports to the console tree.

    python examples/console_spans.py
"""

from __future__ import annotations

from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.prompts import PromptTemplate
from otelchain.tracing import configure, instrument


def main() -> None:
    provider = configure(service_name="otelchain-console-example")  # no endpoint: console tree
    instrument(provider)  # from now on every run in this process is a span

    # A scripted chat model that streams its answer token by token (token events on its span).
    model = FakeListChatModel(["Paris is the capital of France."], streaming=True)
    chain = LLMChain(llm=model, prompt=PromptTemplate.from_template("What is the capital of {country}?"))
    result = chain.call({"country": "France"})
    print("answer:", result["text"])
    info = result.run_info
    assert info is not None
    print(f"trace_id={info.trace_id} span_id={info.span_id}")

    provider.force_flush()  # print the tree now (it is also flushed at exit)


if __name__ == "__main__":
    main()

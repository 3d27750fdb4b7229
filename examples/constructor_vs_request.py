"""Constructor callbacks apply to that object only; request callbacks to the call and its sub-calls.

Run: python examples/constructor_vs_request.py
"""

from typing import Any

from otelchain.callbacks import BaseCallbackHandler
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate


class Printer(BaseCallbackHandler):
    """Prints the events it sees, labelled with its own name."""

    def __init__(self, label: str) -> None:
        self.label = label

    def on_chain_start(self, serialized: dict[str, Any], inputs: dict[str, Any], **kwargs: Any) -> None:
        print(f"[{self.label}] chain start: {serialized['name']}")

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], **kwargs: Any) -> None:
        print(f"[{self.label}] llm start: {prompts}")


def main() -> None:
    llm = FakeListLLM(["3"])
    chain = LLMChain(
        llm=llm,
        prompt=PromptTemplate.from_template("1 + {number} ="),
        callbacks=[Printer("constructor")],  # this chain's runs only, never its model's
    )
    print("-- constructor callback only:")
    chain.call({"number": 2})
    print("-- plus a request callback (this call and every sub-call):")
    chain.call({"number": 2}, [Printer("request")])
    print("-- request callback on a model call (LangChain's llm.call('1 + 1 =', undefined, [handler])):")
    llm.call("1 + 1 =", None, [Printer("request")])


if __name__ == "__main__":
    main()

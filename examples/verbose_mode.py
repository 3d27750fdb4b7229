"""verbose=True logs every event of an object *and its children* to the console.

Run: python examples/verbose_mode.py   (or OTELCHAIN_VERBOSE=true for the whole app)
"""

from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate


def main() -> None:
    chain = LLMChain(
        llm=FakeListLLM(["Hello to you too!"]),
        prompt=PromptTemplate.from_template("Hello, world!"),
        # This enables logging of all Chain *and* LLM events to the console.
        verbose=True,
    )
    chain.call({})


if __name__ == "__main__":
    main()

"""LangChain's "built-in handler" example: one ConsoleCallbackHandler on a model and a chain.

Run: python examples/builtin_handler.py
"""

from otelchain.callbacks import ConsoleCallbackHandler
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate


def main() -> None:
    handler = ConsoleCallbackHandler()
    # Scripted model: answers as LangChain's OpenAI model did, with no network.
    llm = FakeListLLM([" 3\n\n3 - 1 = 2"], callbacks=[handler])
    prompt = PromptTemplate.from_template("1 + {number} =")
    chain = LLMChain(prompt=prompt, llm=llm, callbacks=[handler])

    output = chain.call({"number": 2})
    print(output)  # {'text': ' 3\n\n3 - 1 = 2'}
    # Python's version of LangChain's non-enumerable `__run`: an attribute, not a key.
    print(output.run_info)


if __name__ == "__main__":
    main()

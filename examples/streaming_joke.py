"""LangChain's one-off handler example: stream a joke and print each token as it arrives.

A plain mapping passed as ``callbacks`` is a handler for this one request only. With
OPENAI_API_KEY set it runs on OpenAI (``OpenAI(max_tokens=25, streaming=True)``; OPENAI_BASE_URL
points it at any OpenAI-compatible server); without it a scripted model streams LangChain's
exact tokens.

    python examples/streaming_joke.py
"""

from __future__ import annotations

import os
from typing import Any

from otelchain.llms import BaseLLM, FakeListLLM, OpenAI

# What LangChain's model streamed, token by token.
SEED_TOKENS = ["\n", "\n", "Q", ":", " Why", " did", " the", " chicken", " cross", " the", " playground", "?"]
SEED_TOKENS += ["\n", "A", ":", " To", " get", " to", " the", " other", " slide", "."]


def make_llm() -> BaseLLM:
    """OpenAI when a key is set, else the scripted model (same streaming behaviour)."""
    if os.environ.get("OPENAI_API_KEY"):
        return OpenAI(max_tokens=25, streaming=True)
    return FakeListLLM([SEED_TOKENS], streaming=True)


def print_token(token: str, **kwargs: Any) -> None:
    print({"token": token})


def main() -> None:
    llm = make_llm()
    # A one-off handler: only this call's runs reach it.
    response = llm.call("Tell me a joke.", None, [{"on_llm_new_token": print_token}])
    print(response)


if __name__ == "__main__":
    main()

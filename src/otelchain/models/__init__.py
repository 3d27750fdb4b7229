"""Language models: the shared base (callbacks, streaming, run ids) and concrete models."""

from otelchain.models._base import BaseChatModel, BaseLanguageModel, BaseLLM
from otelchain.models._fake import FakeListChatModel, FakeListLLM
from otelchain.models._openai import ChatOpenAI, OpenAI

__all__ = [
    "BaseChatModel",
    "BaseLLM",
    "BaseLanguageModel",
    "ChatOpenAI",
    "FakeListChatModel",
    "FakeListLLM",
    "OpenAI",
]

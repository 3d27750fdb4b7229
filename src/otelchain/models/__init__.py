"""Language models: the shared base (callbacks, streaming, run ids) and concrete models."""

from otelchain.models._base import BaseChatModel, BaseLanguageModel, BaseLLM
from otelchain.models._fake import FakeListChatModel, FakeListLLM

__all__ = ["BaseChatModel", "BaseLLM", "BaseLanguageModel", "FakeListChatModel", "FakeListLLM"]

"""Language models: the shared base (callbacks, streaming, run ids) and concrete models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otelchain.models._base import BaseChatModel, BaseLanguageModel, BaseLLM
from otelchain.models._fake import FakeListChatModel, FakeListLLM

if TYPE_CHECKING:
    from otelchain.models._openai import ChatOpenAI, OpenAI

_OPENAI = frozenset(("ChatOpenAI", "OpenAI"))

__all__ = [
    "BaseChatModel",
    "BaseLLM",
    "BaseLanguageModel",
    "ChatOpenAI",
    "FakeListChatModel",
    "FakeListLLM",
    "OpenAI",
]


def __getattr__(name: str) -> Any:
    """The OpenAI models load on first use: importing the ``openai`` package takes ~0.5 s."""
    if name in _OPENAI:
        from otelchain.models import _openai

        value = getattr(_openai, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

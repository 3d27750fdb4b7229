"""Chat models (messages in, a message out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otelchain.models._base import BaseChatModel
from otelchain.models._fake import FakeListChatModel

if TYPE_CHECKING:
    from otelchain.models._openai import ChatOpenAI

_OPENAI = frozenset(("ChatOpenAI",))

__all__ = ["BaseChatModel", "ChatOpenAI", "FakeListChatModel"]


def __getattr__(name: str) -> Any:
    """The OpenAI models load on first use: importing the ``openai`` package takes ~0.5 s."""
    if name in _OPENAI:
        from otelchain.models import _openai

        value = getattr(_openai, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Chat models (messages in, a message out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otelchain.models._base import BaseChatModel
from otelchain.models._fake import FakeListChatModel

if TYPE_CHECKING:
    from otelchain.models._openai import ChatOpenAI

__all__ = ["BaseChatModel", "ChatOpenAI", "FakeListChatModel"]


def __getattr__(name: str) -> Any:
    """The OpenAI model loads on first use, as in `otelchain.models`."""
    if name in __all__:
        import otelchain.models

        return getattr(otelchain.models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Chat models (messages in, a message out): `ChatOpenAI`, the scripted `FakeListChatModel`, and
their base."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otelchain.models._base import BaseChatModel
from otelchain.models._fake import FakeListChatModel
from otelchain.models._lazy import lazy_openai

if TYPE_CHECKING:
    from otelchain.models._openai import ChatOpenAI

__all__ = ["BaseChatModel", "ChatOpenAI", "FakeListChatModel"]

__getattr__ = lazy_openai(__name__, frozenset({"ChatOpenAI"}))

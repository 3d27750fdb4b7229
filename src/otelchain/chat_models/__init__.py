"""Chat models (messages in, a message out)."""

from otelchain.models._base import BaseChatModel
from otelchain.models._fake import FakeListChatModel
from otelchain.models._openai import ChatOpenAI

__all__ = ["BaseChatModel", "ChatOpenAI", "FakeListChatModel"]

"""Chat models (messages in, a message out)."""

from otelchain.models._base import BaseChatModel
from otelchain.models._fake import FakeListChatModel

__all__ = ["BaseChatModel", "FakeListChatModel"]

"""Completion models (text in, text out)."""

from otelchain.models._base import BaseLLM
from otelchain.models._fake import FakeListLLM
from otelchain.models._openai import OpenAI

__all__ = ["BaseLLM", "FakeListLLM", "OpenAI"]

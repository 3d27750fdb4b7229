"""Completion models (text in, text out): `OpenAI`, the scripted `FakeListLLM`, and their base."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otelchain.models._base import BaseLLM
from otelchain.models._fake import FakeListLLM
from otelchain.models._lazy import lazy_openai

if TYPE_CHECKING:
    from otelchain.models._openai import OpenAI

__all__ = ["BaseLLM", "FakeListLLM", "OpenAI"]

__getattr__ = lazy_openai(__name__, frozenset({"OpenAI"}))

"""Completion models (text in, text out)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otelchain.models._base import BaseLLM
from otelchain.models._fake import FakeListLLM

if TYPE_CHECKING:
    from otelchain.models._openai import OpenAI

__all__ = ["BaseLLM", "FakeListLLM", "OpenAI"]


def __getattr__(name: str) -> Any:
    """The OpenAI model loads on first use, as in `otelchain.models`."""
    if name in __all__:
        import otelchain.models

        return getattr(otelchain.models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

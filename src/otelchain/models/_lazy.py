"""The OpenAI models load on first use: importing the ``openai`` package takes ~0.5 s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def lazy_openai(module: str, names: frozenset[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names`` from `otelchain.models._openai` on first use."""

    def __getattr__(name: str) -> Any:
        if name in names:
            from otelchain.models import _openai

            return getattr(_openai, name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__

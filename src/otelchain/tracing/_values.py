"""Turning run data into span attribute values: JSON, truncation, secret redaction."""

from __future__ import annotations

import functools
import json
from typing import Any

from otelchain._json import dumps, is_secret_key

__all__ = ["as_text", "error_type", "json_text", "truncate"]

_SCALARS = (str, int, bool, type(None))


@functools.lru_cache(maxsize=1024)
def _secret(key: str) -> bool:
    return is_secret_key(key)


def truncate(text: str, max_length: int | None) -> str:
    """Cut ``text`` to ``max_length`` characters, saying how much was cut."""
    if max_length is not None and len(text) > max_length:
        return text[:max_length] + f"...[truncated {len(text) - max_length} chars]"
    return text


def _flat(obj: dict[Any, Any]) -> bool:
    """A dict of str keys (none secret) and scalar values: JSON-encodable as is."""
    for key, value in obj.items():
        if type(key) is not str or not isinstance(value, _SCALARS) or _secret(key):
            return False
    return True


def json_text(obj: Any, max_length: int | None) -> str:
    """JSON for any value (robust encoder, secrets redacted), truncated."""
    if isinstance(obj, dict) and _flat(obj):
        text = json.dumps(obj, ensure_ascii=False)  # fast path for the common small dict
    else:
        text = dumps(obj)
        if isinstance(obj, str):
            text = json.dumps(obj, ensure_ascii=False)
    return truncate(text, max_length)


def as_text(obj: Any, max_length: int | None) -> str:
    """A string as is, anything else as JSON; truncated."""
    if isinstance(obj, str):
        return truncate(obj, max_length)
    return truncate(dumps(obj), max_length)


def error_type(error: BaseException) -> str:
    """The exception's qualified class name, as the SDK writes ``exception.type``."""
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if not module or module == "builtins" else f"{module}.{cls.__qualname__}"

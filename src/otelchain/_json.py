"""Robust JSON for whatever a run carries: messages, dataclasses, pydantic models, datetimes,
non-string keys, NaN, cycles. Secret-looking keys are always redacted."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "dumps", "is_secret_key", "to_jsonable", "truncate"]

REDACTED = "[REDACTED]"
_SECRET = re.compile(
    r"(api[_-]?key|authorization|password|passwd|secret|credential|cookie|^token$|[_-]token$)", re.I
)
# Token counts and limits are not secrets.
_NOT_SECRET = re.compile(r"(prompt|completion|total|input|output|max|new|reasoning)[_-]tokens?$", re.I)
_MAX_DEPTH = 32


def is_secret_key(key: str) -> bool:
    """True for keys such as ``api_key``, ``Authorization``, ``password`` (not ``max_tokens``)."""
    return bool(_SECRET.search(key)) and not _NOT_SECRET.search(key)


def to_jsonable(obj: Any, _seen: set[int] | None = None, _depth: int = 0) -> Any:
    """Convert ``obj`` to plain JSON types, never raising."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if _depth > _MAX_DEPTH:
        return "..."
    seen = _seen if _seen is not None else set()
    if id(obj) in seen:
        return "[circular]"
    try:
        if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
            return obj.isoformat()
        if isinstance(obj, (uuid.UUID, enum.Enum)):
            return str(obj.value if isinstance(obj, enum.Enum) else obj)
        if isinstance(obj, bytes):
            return f"<{len(obj)} bytes>"
        if isinstance(obj, BaseException):
            return f"{type(obj).__name__}({str(obj)!r})"
        seen.add(id(obj))
        try:
            return _container(obj, seen, _depth + 1)
        finally:
            seen.discard(id(obj))
    except Exception:
        return _safe_repr(obj)


def _container(obj: Any, seen: set[int], depth: int) -> Any:
    if isinstance(obj, Mapping):
        return {
            str(k): (REDACTED if isinstance(k, str) and is_secret_key(k) else to_jsonable(v, seen, depth))
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v, seen, depth) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.repr}
        kind = getattr(type(obj), "type", None)
        if isinstance(kind, str) and "type" not in data:
            data = {"type": kind, **data}
        return to_jsonable(data, seen, depth)
    dump = getattr(obj, "model_dump", None)  # pydantic v2
    if callable(dump):
        return to_jsonable(dump(), seen, depth)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return {
            "type": type(obj).__name__,
            **{
                k: (REDACTED if is_secret_key(k) else to_jsonable(v, seen, depth))
                for k, v in vars(obj).items()
                if not k.startswith("_")
            },
        }
    return _safe_repr(obj)


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<{type(obj).__name__}>"


def truncate(text: str, max_length: int | None) -> str:
    """Cut ``text`` to ``max_length`` characters, saying how much was cut."""
    if max_length is not None and len(text) > max_length:
        return text[:max_length] + f"...[truncated {len(text) - max_length} chars]"
    return text


def dumps(obj: Any, *, indent: int | None = None, max_length: int | None = None) -> str:
    """JSON text for ``obj``; strings stay strings. Truncated to ``max_length`` characters."""
    text = obj if isinstance(obj, str) else json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False)
    return truncate(text, max_length)

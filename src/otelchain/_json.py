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

__all__ = ["REDACTED", "dumps", "is_secret_key", "register_secret", "scrub", "to_jsonable", "truncate"]

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


# Credentials inside free text (error messages, stack texts): header and key values, bearer
# tokens, OpenAI-style keys, URL userinfo. The value is replaced, the name kept.
_SCRUB = re.compile(
    r"(?P<bearer>\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|(?P<name>(?:proxy-)?authorization|api[_-]?key|x-api-key|access[_-]?token|secret|password|passwd"
    r"|credential|cookie|token)(?P<sep>['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic)\s+)?[^\s'\",;&}]{4,}"
    r"|(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"
    r"|\bsk-[A-Za-z0-9_-]{16,}",
    re.I,
)
_known: set[str] = set()
_known_re: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Scrub this exact value (an API key, a configured auth header) from every text we emit."""
    global _known_re
    if not value or len(value) < 6 or value in _known:
        return
    _known.add(value)
    _known_re = re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))


def _scrub_one(m: re.Match[str]) -> str:
    if m.group("bearer"):
        return m.group("bearer") + REDACTED
    if m.group("name"):
        return m.group("name") + m.group("sep") + REDACTED
    if m.group("scheme"):
        return m.group("scheme") + REDACTED + "@"
    return REDACTED


def scrub(text: str) -> str:
    """``text`` with credentials replaced by ``[REDACTED]`` (registered values, auth headers,
    bearer tokens, key=value pairs, OpenAI-style keys, URL userinfo)."""
    known = _known_re
    if known is not None:
        text = known.sub(REDACTED, text)
    return _SCRUB.sub(_scrub_one, text)


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
    """Cut ``text`` to at most ``max_length`` characters, the note saying how much was cut
    included (so the result never exceeds the limit)."""
    if max_length is None or len(text) <= max_length:
        return text
    cut = len(text) - max_length
    for _ in range(3):  # the note's own length changes how much must go
        note = f"...[truncated {cut} chars]"
        keep = max(0, max_length - len(note))
        cut = len(text) - keep
    return text[:keep] + note if len(note) <= max_length else text[:max_length]


def dumps(obj: Any, *, indent: int | None = None, max_length: int | None = None) -> str:
    """JSON text for ``obj``; strings stay strings. Truncated to ``max_length`` characters."""
    text = obj if isinstance(obj, str) else json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False)
    return truncate(text, max_length)

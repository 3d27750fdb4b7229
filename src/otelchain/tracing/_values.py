"""Turning run data into span attribute values: JSON, truncation, secret redaction."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from typing import Any

from otelchain._json import REDACTED, dumps, is_secret_key, truncate

__all__ = ["as_text", "error_type", "json_text", "truncate"]


@functools.lru_cache(maxsize=1024)
def _secret(key: str) -> bool:
    return is_secret_key(key)


class _Slow(Exception):
    """The value needs the full encoder (cycles, deep nesting, unusual types)."""


# Per dataclass: (its repr fields, the class-level `type` to prepend or None), as `to_jsonable`.
_DATACLASS_SPECS: dict[type, tuple[tuple[str, ...], str | None]] = {}
_MAX_FAST_DEPTH = 12


def _dataclass_spec(cls: type) -> tuple[tuple[str, ...], str | None]:
    spec = _DATACLASS_SPECS.get(cls)
    if spec is None:
        if not dataclasses.is_dataclass(cls):
            raise _Slow
        names = tuple(f.name for f in dataclasses.fields(cls) if f.repr)
        kind = getattr(cls, "type", None)
        spec = (names, kind if isinstance(kind, str) and "type" not in names else None)
        _DATACLASS_SPECS[cls] = spec
    return spec


def _plain(obj: Any, depth: int) -> Any:
    """Plain JSON data for the common shapes, exactly as `otelchain._json.to_jsonable` makes it."""
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:
        return obj
    if t is float:
        return obj if math.isfinite(obj) else str(obj)
    if depth > _MAX_FAST_DEPTH:
        raise _Slow
    if t is dict:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if type(key) is not str:
                raise _Slow
            out[key] = REDACTED if _secret(key) else _plain(value, depth + 1)
        return out
    if t is list or t is tuple:
        return [_plain(v, depth + 1) for v in obj]
    names, kind = _dataclass_spec(t)
    data: dict[str, Any] = {} if kind is None else {"type": kind}
    for name in names:
        data[name] = REDACTED if _secret(name) else _plain(getattr(obj, name), depth + 1)
    return data


_encode = json.JSONEncoder(ensure_ascii=False).encode
_quote: Any = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring


_REDACTED_JSON = _quote(REDACTED)


# Per dict key: its JSON ``"key": `` prefix and whether it looks like a secret (bounded cache).
_KEY_JSON: dict[str, tuple[str, bool]] = {}
_KEY_JSON_MAX = 4096


def _key_json(key: str) -> tuple[str, bool]:
    entry = (_quote(key) + ": ", is_secret_key(key))
    if len(_KEY_JSON) < _KEY_JSON_MAX:
        _KEY_JSON[key] = entry
    return entry


def _flat_json(obj: dict[Any, Any]) -> str | None:
    """`json.dumps` of a small flat dict of plain values in one pass (None: not that shape)."""
    if len(obj) > 8:
        return None
    parts = []
    for key, value in obj.items():
        if type(key) is not str:
            return None
        prefix = _KEY_JSON.get(key)
        if prefix is None:
            prefix = _key_json(key)
        t = type(value)
        if prefix[1]:
            text = _REDACTED_JSON
        elif t is str:
            text = _quote(value)
        elif t is int:
            text = int.__repr__(value)
        elif t is bool:
            text = "true" if value else "false"
        elif value is None:
            text = "null"
        else:
            return None
        parts.append(prefix[0] + text)
    return "{" + ", ".join(parts) + "}"


def json_text(obj: Any, max_length: int | None) -> str:
    """JSON for any value (robust encoder, secrets redacted), truncated."""
    if type(obj) is dict:
        flat = _flat_json(obj)
        if flat is not None:
            return truncate(flat, max_length)
    try:
        plain = _plain(obj, 0)  # already redacted; the one-pass encoder redacts the same keys again
        text = (_flat_json(plain) if type(plain) is dict else None) or _encode(plain)
    except _Slow:
        text = dumps(obj)
        if isinstance(obj, str):
            text = _encode(obj)
    except (TypeError, ValueError):
        text = dumps(obj)
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

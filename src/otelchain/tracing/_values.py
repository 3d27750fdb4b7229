"""Turning run data into span attribute values: JSON, truncation, secret redaction, and valid
text (no lone surrogates: the OTLP exporters cannot encode them and would drop the batch)."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping
from typing import Any

from otelchain._json import REDACTED, dumps, is_secret_key, to_jsonable
from otelchain._json import truncate as _truncate
from otelchain.tracing import _health

__all__ = ["as_text", "bound_attributes", "error_type", "json_text", "sanitize", "truncate"]

_BOUNDED_NOTE = "...[truncated]"


def sanitize(text: str) -> str:
    """``text`` as valid Unicode: surrogate pairs joined, lone surrogates replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        _health.count("values_sanitized")
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def truncate(text: str, max_length: int | None) -> str:
    """``text`` cut to ``max_length`` characters (the note included) and made valid Unicode."""
    if max_length is not None and len(text) > max_length:
        _health.count("values_truncated")
        text = _truncate(text, max_length)
    return sanitize(text)


def bound_attributes(attrs: dict[str, Any], max_length: int | None, room: int | None = None) -> int:
    """Make every string (and string list) value within ``max_length`` and valid, in place, and
    keep their total within ``room`` characters (None: no total); returns the characters used."""
    used = 0
    for key, value in attrs.items():
        t = type(value)
        if t is str:
            n = len(value)
            cap = max_length
            if room is not None and room - used < (n if cap is None else cap):  # the span is nearly full
                cap = _cap(max_length, room - used)
            if (cap is not None and n > cap) or not value.isascii():
                value = attrs[key] = truncate(value, cap)
                n = len(value)
            used += n
        elif (t is list or t is tuple) and value and type(value[0]) is str:
            items = []
            for v in value:
                if type(v) is str:
                    cap = max_length
                    if room is not None and room - used < (len(v) if cap is None else cap):
                        cap = _cap(max_length, room - used)
                    if (cap is not None and len(v) > cap) or not v.isascii():
                        v = truncate(v, cap)
                    used += len(v)
                items.append(v)
            attrs[key] = items
    return used


def _cap(max_length: int | None, left: int) -> int:
    left = max(left, _MIN_VALUE)  # past the span's budget a value keeps only its start and note
    return left if max_length is None else min(max_length, left)


_MIN_VALUE = 32


@functools.lru_cache(maxsize=1024)
def _secret(key: str) -> bool:
    return is_secret_key(key)


class _Slow(Exception):
    """The value needs the full encoder (cycles, deep nesting, unusual types)."""


# Per dataclass: (its repr fields, the class-level `type` to prepend or None), as `to_jsonable`.
# A pydantic v2 model class maps to `_MODEL`: `to_jsonable` encodes its ``model_dump()``.
_DATACLASS_SPECS: dict[type, tuple[tuple[str, ...], str | None]] = {}
_MODEL: tuple[tuple[str, ...], str | None] = ((), None)
_MAX_FAST_DEPTH = 12


def _dataclass_spec(cls: type) -> tuple[tuple[str, ...], str | None]:
    spec = _DATACLASS_SPECS.get(cls)
    if spec is None:
        if not dataclasses.is_dataclass(cls):
            if not callable(getattr(cls, "model_dump", None)):  # (a model class itself: no)
                raise _Slow
            _DATACLASS_SPECS[cls] = _MODEL  # langchain-core's messages, documents, generations
            return _MODEL
        names = tuple(f.name for f in dataclasses.fields(cls) if f.repr)
        kind = getattr(cls, "type", None)
        spec = (names, kind if isinstance(kind, str) and "type" not in names else None)
        _DATACLASS_SPECS[cls] = spec
    return spec


def _plain(obj: Any, depth: int, left: list[int] | None = None) -> Any:
    """Plain JSON data for the common shapes, exactly as `otelchain._json.to_jsonable` makes it.

    ``left`` (one cell) is a budget of JSON characters: each value takes at least its own size,
    and `_Slow` is raised once it is spent, so a huge value costs no more than the budget here.
    """
    t = type(obj)
    if t is str:
        if left is not None:
            left[0] -= len(obj) + 3
            if left[0] < 0:
                raise _Slow
        return obj
    if t is int or t is bool or obj is None:
        return obj
    if t is float:
        return obj if math.isfinite(obj) else str(obj)
    if depth > _MAX_FAST_DEPTH:
        raise _Slow
    if left is not None:
        left[0] -= 2
        if left[0] < 0:
            raise _Slow
    if t is dict:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if type(key) is not str:
                raise _Slow
            if left is not None:
                left[0] -= len(key) + 4
            out[key] = REDACTED if _secret(key) else _plain(value, depth + 1, left)
        return out
    if t is list or t is tuple:
        return [_plain(v, depth + 1, left) for v in obj]
    spec = _dataclass_spec(t)
    if spec is _MODEL:
        try:
            dumped = obj.model_dump()
        except Exception:
            raise _Slow from None  # the full encoder shows what it can
        return _plain(dumped, depth + 1, left)
    names, kind = spec
    data: dict[str, Any] = {} if kind is None else {"type": kind}
    for name in names:
        data[name] = REDACTED if _secret(name) else _plain(getattr(obj, name), depth + 1, left)
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


def _flat_json(obj: dict[Any, Any], max_length: int | None) -> str | None:
    """`json.dumps` of a small flat dict of plain values in one pass (None: not that shape, or a
    string longer than ``max_length``, which the bounded encoder cuts while encoding)."""
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
            if max_length is not None and len(value) > max_length:
                return None
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


class _Full(Exception):
    """The bounded encoder reached its budget."""


class _Bounded:
    """JSON text built piece by piece, stopping once ``budget`` characters are written: the cost
    is bounded by the limit, not by the size of the value."""

    __slots__ = ("left", "parts")

    def __init__(self, budget: int) -> None:
        self.parts: list[str] = []
        self.left = budget

    def emit(self, piece: str) -> None:
        self.parts.append(piece)
        self.left -= len(piece)
        if self.left < 0:
            raise _Full

    def value(self, obj: Any, depth: int, seen: set[int]) -> None:
        t = type(obj)
        if t is str:
            self.emit(_quote(obj if len(obj) <= self.left else obj[: self.left + 1]))
        elif obj is None:
            self.emit("null")
        elif t is bool:
            self.emit("true" if obj else "false")
        elif t is int:
            self.emit(int.__repr__(obj))
        elif t is float:
            self.emit(float.__repr__(obj) if math.isfinite(obj) else _quote(str(obj)))
        elif depth > _MAX_BOUNDED_DEPTH:
            self.emit('"..."')
        elif id(obj) in seen:
            self.emit('"[circular]"')
        elif t is dict or t is list or t is tuple or isinstance(obj, (Mapping, list, tuple, set, frozenset)):
            seen.add(id(obj))
            try:
                if t is dict or isinstance(obj, Mapping):
                    self.mapping(obj, depth, seen)
                else:
                    self.emit("[")
                    for i, item in enumerate(obj):
                        if i:
                            self.emit(", ")
                        self.value(item, depth + 1, seen)
                    self.emit("]")
            finally:
                seen.discard(id(obj))
        else:  # messages, dataclasses, pydantic models, anything: the robust converter
            plain = to_jsonable(obj)
            if type(plain) is str:
                self.emit(_quote(plain if len(plain) <= self.left else plain[: self.left + 1]))
            else:
                self.value(plain, depth + 1, seen)

    def mapping(self, obj: Any, depth: int, seen: set[int]) -> None:
        self.emit("{")
        for i, (key, item) in enumerate(obj.items()):
            if i:
                self.emit(", ")
            if type(key) is str:
                prefix = _KEY_JSON.get(key) or _key_json(key)
                self.emit(prefix[0])
                if prefix[1]:
                    self.emit(_REDACTED_JSON)
                    continue
            else:
                self.emit(_quote(str(key)) + ": ")
            self.value(item, depth + 1, seen)
        self.emit("}")


_MAX_BOUNDED_DEPTH = 32


def json_text(obj: Any, max_length: int | None) -> str:
    """JSON for any value (robust encoder, secrets redacted), truncated while it is encoded."""
    if type(obj) is dict:
        flat = _flat_json(obj, max_length)
        if flat is not None:
            return truncate(flat, max_length)
    if max_length is None:
        try:
            plain = _plain(obj, 0)
            text = (_flat_json(plain, None) if type(plain) is dict else None) or _encode(plain)
        except _Slow:
            text = dumps(obj)
            if isinstance(obj, str):
                text = _encode(obj)
        except (TypeError, ValueError):
            text = dumps(obj)
        return sanitize(text)
    try:  # the common case: plain data well within the limit, encoded by the C encoder
        plain = _plain(obj, 0, [max_length])
        text = (_flat_json(plain, None) if type(plain) is dict else None) or _encode(plain)
        return truncate(text, max_length)
    except (_Slow, TypeError, ValueError):
        pass  # large or unusual: the bounded encoder below
    out = _Bounded(max_length)
    try:
        out.value(obj, 0, set())
    except _Full:
        _health.count("values_truncated")
        text = "".join(out.parts)
        return sanitize(text[: max_length - len(_BOUNDED_NOTE)] + _BOUNDED_NOTE)
    except Exception:  # a value whose conversion fails: the robust encoder's text
        return truncate(dumps(obj), max_length)
    return sanitize("".join(out.parts))


def as_text(obj: Any, max_length: int | None) -> str:
    """A string as is, anything else as JSON; truncated."""
    if isinstance(obj, str):
        return truncate(obj, max_length)
    return json_text(obj, max_length)


def error_type(error: BaseException) -> str:
    """The exception's qualified class name, as the SDK writes ``exception.type``."""
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if not module or module == "builtins" else f"{module}.{cls.__qualname__}"

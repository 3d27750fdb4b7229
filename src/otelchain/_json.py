"""Robust JSON for whatever a run carries: messages, dataclasses, pydantic models, datetimes,
non-string keys, NaN, cycles. Secret-looking keys are always redacted. One converter (a fast
type dispatch, bounded by a character budget) and one encoder (the C one) for every caller."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import operator
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "REDACTED",
    "dumps",
    "encode",
    "is_mapping",
    "is_secret_key",
    "register_secret",
    "scrub",
    "to_jsonable",
    "truncate",
]

REDACTED = "[REDACTED]"
_SECRET = re.compile(
    r"(api[_-]?key|authorization|password|passwd|secret|credential|cookie|^token$|[_-]token$)", re.I
)
# Token counts and limits are not secrets.
_NOT_SECRET = re.compile(r"(prompt|completion|total|input|output|max|new|reasoning)[_-]tokens?$", re.I)
_isfinite = math.isfinite


def is_secret_key(key: str) -> bool:
    """True for keys such as ``api_key``, ``Authorization``, ``password`` (not ``max_tokens``)."""
    return bool(_SECRET.search(key)) and not _NOT_SECRET.search(key)


# Per dict key seen: the JSON characters it takes (quotes, ": ", separator), negative when it looks
# like a secret. Bounded; keys repeat (a few hundred), and long keys are not kept.
_KEY_COST: dict[str, int] = {}


def _key(key: Any, left: int) -> tuple[str, int]:
    """A dict key as a str and its cost (see ``_KEY_COST``); a key past the budget cut."""
    if type(key) is not str:
        key = str(key)
    cost = len(key) + 6
    if is_secret_key(key):
        cost = -cost
    if len(key) <= _CACHED_KEY:
        if len(_KEY_COST) < _TYPES_MAX:
            _KEY_COST[key] = cost
    elif len(key) > left:  # a huge key: keep what fits
        key = key[: max(left, 0)]
    return key, cost


_CACHED_KEY = 256


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


def is_mapping(obj: Any) -> bool:
    """``isinstance(obj, Mapping)``, decided once per type (an ABC check is slow)."""
    t = type(obj)
    if t is dict:
        return True
    known = _MAPPING_TYPES.get(t)
    if known is None:
        known = issubclass(t, Mapping)
        if len(_MAPPING_TYPES) < _TYPES_MAX:
            _MAPPING_TYPES[t] = known
    return known


_MAPPING_TYPES: dict[type, bool] = {}
_TYPES_MAX = 4096  # per-type caches stop growing here (classes made at run time); then decided each call

# --- one converter ----------------------------------------------------------------------------
#
# ``_conv`` turns a value into plain JSON data (dicts with str keys, lists, str, int, float, bool,
# None) and charges its JSON text to a budget as it goes, never more than the text has (the exact
# size of strings, keys, brackets and separators; one character for a number): once the budget is
# spent it cuts the string at hand and adds no more items. So a huge value costs no more than the
# budget, and the JSON of what was kept agrees with the whole value's JSON beyond the budget (the
# caller cuts it there). The walk first ignores cycles; a value nested deeper than ``_FAST_DEPTH``
# (a cycle, or deep data) is walked again with its ancestors tracked: "[circular]" where one
# recurs, "..." past ``_MAX_DEPTH``, as before this walk existed.

_MAX_DEPTH = 32
_FAST_DEPTH = 16
_UNBOUNDED = sys.maxsize

# What a value of a type becomes, decided once per type, in the order the checks apply.
_STR, _INT, _FLOAT, _TEXT, _MAP, _SEQ, _DATACLASS, _MODEL, _OTHER = range(9)
_Kind = tuple[int, Any]  # (kind, the text function of a _TEXT kind or the spec of a _DATACLASS)
_TYPES: dict[type, _Kind] = {
    str: (_STR, None),
    int: (_INT, None),
    bool: (_INT, None),
    type(None): (_INT, None),
    float: (_FLOAT, None),
}


# One conversion's state: [JSON characters left of the budget, the ids of the ancestors (None
# while cycles are ignored)]. A list, not a class: it is made for every value encoded.
_Walk = list[Any]


class _Deep(BaseException):
    """Nesting past ``_FAST_DEPTH`` in a walk that ignores cycles: walk again, tracking them.

    A BaseException, so the ``except Exception`` that turns a failing value into its repr lets it by."""


def _exception_text(error: Any, left: int) -> str:
    message = str(error)
    if len(message) > left:  # a 5 MB error message: repr only what can be kept
        message = message[: max(left, 0)]
    return f"{type(error).__name__}({message!r})"


def _classify(t: type) -> _Kind:
    """The kind of values of type ``t`` (as the checks of `to_jsonable` order them)."""
    try:
        kind = _kind_of(t)
    except Exception:  # a class whose subclass checks or attributes raise: the value's repr
        kind = (_TEXT, lambda obj, left: _safe_repr(obj))
    if len(_TYPES) < _TYPES_MAX:
        _TYPES[t] = kind
    return kind


def _kind_of(t: type) -> _Kind:
    if issubclass(t, str):
        return (_STR, None)
    if issubclass(t, int) or t is type(None):
        return (_INT, None)
    if issubclass(t, float):
        return (_FLOAT, None)
    if issubclass(t, (datetime.datetime, datetime.date, datetime.time)):
        return (_TEXT, lambda obj, left: obj.isoformat())
    if issubclass(t, uuid.UUID):
        return (_TEXT, lambda obj, left: str(obj))
    if issubclass(t, enum.Enum):
        return (_TEXT, lambda obj, left: str(obj.value))
    if issubclass(t, bytes):
        return (_TEXT, lambda obj, left: f"<{len(obj)} bytes>")
    if issubclass(t, BaseException):
        return (_TEXT, _exception_text)
    if issubclass(t, Mapping):
        return (_MAP, None)
    if issubclass(t, (list, tuple, set, frozenset)):
        return (_SEQ, None)
    if issubclass(t, type):  # a class: its repr
        return (_OTHER, None)
    if dataclasses.is_dataclass(t):
        return (_DATACLASS, _dataclass_spec(t))
    if callable(getattr(t, "model_dump", None)):  # pydantic v2: langchain-core's messages, documents
        return (_MODEL, None)
    return (_OTHER, None)


def _dataclass_spec(t: type) -> tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...], str | None]:
    """A reader of the repr fields' values, their names, and the class-level ``type`` to put first."""
    names = tuple(f.name for f in dataclasses.fields(t) if f.repr)
    kind = getattr(t, "type", None)
    prefix = kind if isinstance(kind, str) and "type" not in names else None
    if len(names) > 1:
        return operator.attrgetter(*names), names, prefix
    one = operator.attrgetter(*names) if names else None
    return (lambda obj: (one(obj),) if one else ()), names, prefix


def _cut(text: str, walk: _Walk) -> str:
    """A string value charged to the budget; cut just past what is left of it."""
    left = walk[0]
    n = len(text) + 2
    walk[0] = left - n
    return text if n <= left else text[: max(left, 0)]


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<{type(obj).__name__}>"


def _conv(obj: Any, depth: int, walk: _Walk) -> Any:
    """``obj`` as plain JSON data, its JSON size charged to ``walk`` (see the notes above)."""
    t = type(obj)
    spec: Any
    if t is dict:
        kind, spec = _MAP, None
    elif t is list:
        kind, spec = _SEQ, None
    else:
        kind, spec = _TYPES.get(t) or _classify(t)
        if kind <= _FLOAT:  # str, int, bool, None, float (or a subclass)
            if kind is _STR:
                return _cut(obj, walk)
            if kind is _INT:
                walk[0] -= 1
                return obj
            walk[0] -= 3
            return obj if _isfinite(obj) else str(obj)
    seen = walk[1]
    if seen is None:
        if depth > _FAST_DEPTH:
            raise _Deep
    elif depth > _MAX_DEPTH:
        return _cut("...", walk)
    elif id(obj) in seen:
        return _cut("[circular]", walk)
    else:
        seen.add(id(obj))
    left = start = walk[0]
    try:
        if kind is _SEQ:
            items: list[Any] = []
            append = items.append
            left += 1  # "[" less the separator the first item does not have
            for value in obj:
                tv = type(value)
                if tv is str:
                    n = len(value) + 4
                    if n > left:
                        value = value[: max(left - 2, 0)]
                    left -= n
                elif tv is int or tv is bool or value is None:
                    left -= 3
                elif tv is float:
                    left -= 5
                    if not _isfinite(value):
                        value = str(value)
                elif (tv is dict or tv is list) and not value and depth < _MAX_DEPTH:
                    value = {} if tv is dict else []
                    left -= 4
                else:
                    walk[0] = left - 2
                    value = _conv(value, depth + 1, walk)
                    left = walk[0]
                append(value)
                if left < 0:
                    break
            walk[0] = left - 1  # "]"
            return items
        out: dict[str, Any] = {}
        child = depth + 1
        left += 1  # "{" less the separator the first item does not have
        if kind is _MAP:
            pairs = obj.items()
        elif kind is _DATACLASS:
            if depth >= _MAX_DEPTH:  # its fields sit one level deeper, as a dict would
                return _cut("...", walk)
            read, names, prefix = spec
            pairs = zip(names, read(obj))  # noqa: B905 (the same length: strict= costs 0.1 µs)
            child = depth + 2
            if prefix is not None:
                out["type"] = prefix
                left -= len(prefix) + 12
        elif kind is _TEXT:
            return _cut(spec(obj, left), walk)
        elif kind is _MODEL:
            return _conv(obj.model_dump(), depth + 1, walk)
        else:  # anything else, decided per value as it may differ from its class
            dump = getattr(obj, "model_dump", None)
            if callable(dump):
                return _conv(dump(), depth + 1, walk)
            if not hasattr(obj, "__dict__") or isinstance(obj, type):
                return _cut(_safe_repr(obj), walk)
            name = t.__name__
            out["type"] = name
            left -= len(name) + 12
            pairs = ((k, v) for k, v in vars(obj).items() if not k.startswith("_"))
        for key, value in pairs:
            cost = _KEY_COST.get(key)
            if cost is None or type(key) is not str:
                key, cost = _key(key, left)
            if cost < 0:  # a secret-looking key
                left += cost - len(REDACTED) - 2
                out[key] = REDACTED
                if left < 0:
                    break
                continue
            left -= cost
            tv = type(value)
            if tv is str:
                n = len(value) + 2
                if n > left:
                    value = value[: max(left, 0)]
                left -= n
            elif tv is int or tv is bool or value is None:
                left -= 1
            elif tv is float:
                left -= 3
                if not _isfinite(value):
                    value = str(value)
            elif (tv is dict or tv is list) and not value and child <= _MAX_DEPTH:
                value = {} if tv is dict else []
                left -= 2
            else:
                walk[0] = left
                value = _conv(value, child, walk)
                left = walk[0]
            out[key] = value
            if left < 0:
                break
        walk[0] = left - 1  # "}"
        return out
    except Exception:  # keys, items or fields that fail to read: the value's repr, as a string
        walk[0] = start
        return _cut(_safe_repr(obj), walk)
    finally:
        if seen is not None:
            seen.discard(id(obj))


def _convert(obj: Any, budget: int | None) -> tuple[Any, bool]:
    """Plain JSON data for ``obj`` and whether the budget ran out (what was kept is then cut)."""
    left = _UNBOUNDED if budget is None else budget
    walk: _Walk = [left, None]
    try:
        value = _conv(obj, 0, walk)
    except _Deep:  # deep or cyclic: again, minding cycles and the depth cap
        walk = [left, set()]
        value = _conv(obj, 0, walk)
    return value, walk[0] < 0


def to_jsonable(obj: Any, budget: int | None = None) -> Any:
    """Convert ``obj`` to plain JSON types, never raising; secret-looking keys redacted.

    With a ``budget`` of JSON characters it stops (cuts the string at hand, adds no more items)
    once the JSON of what it kept exceeds the budget: the cost follows the budget, not the value.
    """
    return _convert(obj, budget)[0]


# --- one encoder ------------------------------------------------------------------------------


def _make_encoder(c_make_encoder: Any) -> Callable[[Any, int], Iterable[str]]:
    """The JSON chunks of plain data (no cycles, str keys, finite floats): the C encoder, made once
    (``json.dumps`` makes one per call)."""
    if c_make_encoder is None:  # Python builds without the _json accelerator
        encoder = json.JSONEncoder(ensure_ascii=False, check_circular=False)
        return lambda value, _level: encoder.iterencode(value)
    quote = json.encoder.encode_basestring  # the C one where the accelerator is there
    return c_make_encoder(None, _not_plain, quote, None, ": ", ", ", False, False, True)  # type: ignore[no-any-return]


def _not_plain(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not plain JSON data")


_chunks = _make_encoder(getattr(json.encoder, "c_make_encoder", None))
_CUT_NOTE = "...[truncated]"  # the JSON was cut while converted: how much more there was is unknown


def _huge_ints_as_text(value: Any) -> Any:
    """Plain data with each int too long for ``str`` (Python's digit limit) as a short text."""
    if type(value) is dict:
        return {k: _huge_ints_as_text(v) for k, v in value.items()}
    if type(value) is list:
        return [_huge_ints_as_text(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            int.__repr__(value)
        except ValueError:
            return f"<int of {value.bit_length()} bits>"
    return value


def encode(obj: Any, max_length: int | None = None, *, indent: int | None = None) -> tuple[str, bool]:
    """JSON text for ``obj`` (a string too) of at most ``max_length`` characters, and whether it
    was cut: while converted when it is clearly longer (the note ``...[truncated]``), else by
    `truncate` (the note says how much)."""
    budget = _UNBOUNDED if max_length is None else max_length
    walk: _Walk = [budget, None]
    try:  # `_convert`, inline: this is the path of every span attribute
        value = _conv(obj, 0, walk)
    except _Deep:
        walk = [budget, set()]
        value = _conv(obj, 0, walk)
    over = walk[0] < 0
    try:
        text = (
            "".join(_chunks(value, 0))
            if indent is None
            else json.dumps(value, indent=indent, ensure_ascii=False)
        )
    except ValueError:  # an int past Python's limit on digits
        text = "".join(_chunks(_huge_ints_as_text(value), 0))
    if max_length is None or (not over and len(text) <= max_length):
        return text, False
    if over:
        keep = max_length - len(_CUT_NOTE)
        return (text[:keep] + _CUT_NOTE if keep >= 0 else text[:max_length]), True
    return truncate(text, max_length), True


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
    """JSON text for ``obj``; strings stay strings. At most ``max_length`` characters."""
    if isinstance(obj, str):
        return truncate(obj, max_length)
    return encode(obj, max_length, indent=indent)[0]

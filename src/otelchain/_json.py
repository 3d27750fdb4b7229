"""Robust JSON for whatever a run carries: messages, dataclasses, pydantic models, datetimes,
non-string keys, NaN, cycles. Secret-looking keys are always redacted, and registered secret
values (`otelchain._secrets`) never written. One walk writes the JSON (a fast type dispatch, its
cost bounded by a character budget) for every caller: span attributes, `dumps`, and
`to_jsonable`, which reads it back as plain data.

Objects of unknown shape are described without running their code: their public attributes
(from ``__dict__`` or ``__slots__``, read as stored, never through ``__getattr__``) as
``{"type": "ClassName", ...}``, else ``"<ClassName>"``; their ``__repr__`` and ``__str__`` are
never called (user code may hang, raise, or print megabytes). A few standard-library value types
keep their text (complex, range, Decimal, Fraction, paths, IP addresses), classes read
``<class 'module.Name'>``, and an exception reads ``Name('message')``, its message taken from
``str()`` only when the interpreter formats it from plain arguments.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime
import enum
import itertools
import json
import math
import operator
import sys
import types
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from otelchain import _secrets
from otelchain._secrets import REDACTED, is_secret_key, register_secret, scrub, scrub_known

__all__ = [
    "REDACTED",
    "Base64Image",
    "dumps",
    "encode",
    "image_marker",
    "image_mime",
    "is_mapping",
    "is_secret_key",
    "register_secret",
    "scrub",
    "to_jsonable",
    "truncate",
]

_isfinite = math.isfinite


def is_mapping(obj: Any) -> TypeGuard[Mapping[str, Any]]:
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

# --- one converter and encoder ----------------------------------------------------------------
#
# ``_text`` writes the JSON of a value in one walk: a fast type dispatch for the common shapes
# (str, int, dict, list, dataclasses, pydantic models), the robust handling for the rest, secret-
# looking keys redacted at any depth. It charges the text it writes to a budget (exactly, but one
# character for a number or a bool), and once the budget is spent it cuts the string at hand and
# writes no more items: a huge value costs no more than the budget, and what was written agrees
# with the whole value's JSON beyond the budget (the caller cuts it there and adds the note). The
# walk first ignores cycles; a value nested deeper than ``_FAST_DEPTH`` (a cycle, or deep data) is
# walked again with its ancestors tracked: "[circular]" where one recurs, "..." past
# ``_MAX_DEPTH``. `to_jsonable` is the same walk read back as plain data.

_MAX_DEPTH = 32
_FAST_DEPTH = 16
_UNBOUNDED = sys.maxsize
_quote = json.encoder.encode_basestring  # json's own (C) string quoting, as ensure_ascii=False
_REDACTED_JSON = _quote(REDACTED)

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

# Per dict key seen: its JSON ``"key": `` and the characters it takes with the separator before
# it, negated when the key looks like a secret. Bounded; keys repeat (a few hundred), and long keys
# are not kept.
_KEYS: dict[str, tuple[str, int]] = {}


def _key(key: Any, left: int) -> tuple[str, int]:
    """A dict key's entry (see ``_KEYS``); a key longer than what is left of the budget cut."""
    unread = False
    if type(key) is not str:
        key, unread = _key_text(key)
    cost = len(key) + 6
    if unread or is_secret_key(key):  # a key read only by running its code may name a secret
        cost = -cost
    if len(key) <= _CACHED_KEY:
        entry = (_quote(key) + ": ", cost)
        if len(_KEYS) < _TYPES_MAX:
            _KEYS[key] = entry
        return entry
    return _quote(key[: max(left, 0)] if len(key) > left else key) + ": ", cost


_CACHED_KEY = 256


# One walk's state: [JSON characters left of the budget, the ids of the ancestors (None while
# cycles are ignored)]. A list, not a class: one is made for every value encoded.
_Walk = list[Any]


class _Deep(BaseException):
    """Nesting past ``_FAST_DEPTH`` in a walk that ignores cycles: walk again, tracking them.

    A BaseException, so the ``except Exception`` that turns a failing value into its repr lets it by."""


def _key_text(key: Any) -> tuple[str, bool]:
    """A dict key that is not a string, as text, and whether it was left unread: numbers, None
    and tuples of those as ``str()`` gives them, enum members as ``Class.NAME``, anything else
    described (`_describe`) without running its ``__str__``."""
    t = type(key)
    if t in _PRIMITIVES or (t is tuple and all(type(k) in _PRIMITIVES for k in key)):
        try:
            return str(key), False
        except ValueError:  # an int past Python's limit on digits
            return (f"<int of {key.bit_length()} bits>" if t is int else f"<{t.__qualname__}>"), False
    if isinstance(key, enum.Enum):
        return f"{t.__name__}.{key._name_}", False
    return _describe(key), True


def _enum_text(value: Any) -> str:
    return str(value) if type(value) in _PRIMITIVES else _key_text(value)[0]


_PRIMITIVES = frozenset({str, int, float, bool, type(None)})
# Standard-library value types whose ``str()`` is computed from plain data (never user code).
_PLAIN_TYPES = frozenset({complex, range})
_PLAIN_MODULES = frozenset({"decimal", "fractions", "pathlib", "ipaddress"})


def _describe(obj: Any) -> str:
    """An object of unknown shape as text, without running its code: ``<ClassName>``; a class
    as ``<class 'module.Name'>``; the plain standard-library types above as their text."""
    t = type(obj)
    if isinstance(obj, type):
        return type.__repr__(obj)
    if t in _PLAIN_TYPES or t.__module__ in _PLAIN_MODULES:
        try:
            return str(obj)
        except Exception:
            pass
    return f"<{t.__qualname__}>"


def _exception_text(error: Any, left: int) -> str:
    """``Name('message')``: ``str(error)`` when the interpreter formats it from plain arguments
    (its class does not define ``__str__`` in Python), else its first string argument."""
    args = error.args if isinstance(error.args, tuple) else ()
    if not isinstance(type(error).__str__, types.FunctionType) and all(type(a) in _PRIMITIVES for a in args):
        message = str(error)
    else:
        message = next((a for a in args if type(a) is str), "")
    if len(message) > left:  # a 5 MB error message: repr only what can be kept
        message = message[: max(left, 0)]
    return f"{type(error).__name__}({message!r})"


def _classify(t: type) -> _Kind:
    """The kind of values of type ``t``, remembered."""
    try:
        kind = _kind_of(t)
    except Exception:  # a class whose subclass checks or attributes raise: described
        kind = (_TEXT, lambda obj, left: _describe(obj))
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
        return (_TEXT, lambda obj, left: _enum_text(obj.value))
    if issubclass(t, bytes):
        return (_TEXT, lambda obj, left: f"<{len(obj)} bytes>")
    if issubclass(t, BaseException):
        return (_TEXT, _exception_text)
    if issubclass(t, Mapping):
        return (_MAP, None)
    if issubclass(t, (list, tuple, set, frozenset, collections.deque)):
        return (_SEQ, None)
    if issubclass(t, type):  # a class: its repr
        return (_OTHER, None)
    if t in _PLAIN_TYPES or t.__module__ in _PLAIN_MODULES:  # standard-library values: their text
        return (_TEXT, lambda obj, left: _describe(obj))
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


class Base64Image(str):
    """The bare base64 data of an inline image (GenAI's blob parts carry it without the
    ``data:`` head), with its mime type: the encoder bounds it as it bounds a base64 data URL."""

    mime: str

    def __new__(cls, data: str, mime: str) -> Base64Image:
        self = super().__new__(cls, data)
        self.mime = mime
        return self


def image_mime(text: str) -> str | None:
    """The mime type of a base64 image leaf (a base64 data URL or a `Base64Image`; ``data``
    when the URL names none), or None for any other text. The scheme and the ``base64`` token
    are matched in any case, as URLs are (``DATA:image/png;BASE64,``); the mime type is lower-cased."""
    if type(text) is Base64Image:
        return text.mime or "data"
    if text[4:5] == ":" and text[:5].lower() == "data:":  # (the colon first: most text is no URL)
        head = text[:120].lower()
        end = head.find(";base64,")
        if end >= 0:
            return head[5:end] or "data"
    return None


def image_marker(text: str) -> str | None:
    """What a base64 image leaf becomes when it is not kept: ``[base64 image/png: N chars
    omitted]``; None for any other text."""
    mime = image_mime(text)
    return None if mime is None else f"[base64 {mime}: {len(text)} chars omitted]"


def _cut(text: str, keep: int) -> str:
    """A leaf cut to about ``keep`` characters, saying what went: a base64 image becomes a
    marker (half an image is no image), any other text keeps its start and a note."""
    marker = image_marker(text)
    if marker is not None:
        return marker
    note = f"...[truncated {len(text) - keep} chars]"
    return text[: max(keep - len(note), 0)] + note


def _leaf(text: str, n: int, left: int, walk: _Walk) -> tuple[str, int]:
    """A string leaf that may not be written as is (``n``: its JSON length): it and the
    characters it takes of the budget. A base64 image longer than the image limit becomes the
    marker; one within it, when the walk keeps images whole, is written whole and charged
    nothing (counted in ``walk[5]``); anything past the leaf cap or the budget is cut (`_cut`)."""
    cap = walk[2]
    if image_mime(text) is not None:
        if len(text) <= walk[4]:
            if walk[5] is not None:
                walk[5] += n
                return text, 0
            if n <= left and n <= cap:
                return text, n
            walk[6] = True  # past the bound, not the image limit: a cut
        text = _cut(text, 0)
        return text, len(text) + 2
    if n <= left and n <= cap:  # looked at (it starts like "data:") but no base64 image: it fits
        return text, n
    walk[6] = True
    text = _cut(text, min(cap, max(left, 0)))
    return text, len(text) + 2


def _string(text: str, walk: _Walk) -> str:
    """The JSON of a string (registered secret values replaced), charged to the budget; a string
    over the leaf cap, or past what is left of the budget, is cut with a note, and a base64
    image is bounded by the image limit (`_leaf`)."""
    if _secrets._known:
        text = scrub_known(text)  # (the same object when nothing is replaced)
    left = walk[0]
    n = len(text) + 2
    if (
        n > walk[2]
        or n > left
        or (n > walk[3] and ((text[0] in "dD" and text[4:5] == ":") or type(text) is Base64Image))
    ):
        text, n = _leaf(text, n, left, walk)
    walk[0] = left - n
    return _quote(text)


def _int(value: int) -> str:
    try:
        return int.__repr__(value)
    except ValueError:  # past Python's limit on the digits of an int
        return _quote(f"<int of {value.bit_length()} bits>")


def _float(value: float) -> str:
    return float.__repr__(value) if _isfinite(value) else _quote(str(value))


_get_attribute = object.__getattribute__  # reads what is stored, never ``__getattr__``


def _public_fields(obj: Any, t: type) -> list[tuple[str, Any]] | None:
    """An unknown object's public attributes as stored (its ``__dict__``, else its slots), or
    None when it has neither (or is a class)."""
    if isinstance(obj, type):
        return None
    try:
        attrs = _get_attribute(obj, "__dict__")
    except Exception:
        attrs = None
    if type(attrs) is dict:
        return [(k, v) for k, v in attrs.items() if type(k) is str and not k.startswith("_")]
    slots = _slot_readers(t)
    if not slots:
        return None
    fields = []
    for name, read in slots:
        with contextlib.suppress(AttributeError):  # a slot never set
            fields.append((name, read(obj)))
    return fields


_SLOTS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _slot_readers(t: type) -> tuple[tuple[str, Any], ...]:
    """The public slots of a class and their member descriptors (C code), remembered."""
    readers = _SLOTS.get(t)
    if readers is None:
        found: dict[str, Any] = {}
        for klass in reversed(t.__mro__):
            for name, attr in vars(klass).items():
                if isinstance(attr, types.MemberDescriptorType) and not name.startswith("_"):
                    found[name] = attr.__get__
        readers = tuple(found.items())
        if len(_SLOTS) < _TYPES_MAX:
            _SLOTS[t] = readers
    return readers


def _text(obj: Any, depth: int, walk: _Walk, out: list[str]) -> None:
    """Append the JSON of ``obj`` to ``out``, charged to ``walk`` (see the notes above)."""
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
                out.append(_string(obj, walk))
                return
            walk[0] -= 1
            if kind is _FLOAT:
                out.append(_float(obj))
            else:
                out.append(
                    "null" if obj is None else ("true" if obj else "false") if t is bool else _int(obj)
                )
            return
    seen = walk[1]
    if seen is None:
        if depth > _FAST_DEPTH:
            raise _Deep
    elif depth > _MAX_DEPTH:
        out.append(_string("...", walk))
        return
    elif id(obj) in seen:
        out.append(_string("[circular]", walk))
        return
    else:
        seen.add(id(obj))
    left = start = walk[0]
    cap, probe = walk[2], walk[3]
    written = len(out)
    append = out.append
    try:
        # A container: its items as (key, value) pairs; a list's have no key.
        keyed = True
        key_json = sep = ""
        if kind is _MAP:
            pairs = obj.items()
            append("{")
        elif kind is _SEQ:
            pairs = zip(_NO_KEYS, obj)  # noqa: B905 (_NO_KEYS never ends)
            keyed = False
            append("[")
        elif kind is _DATACLASS:
            if depth >= _MAX_DEPTH:  # its fields sit one level deeper, as a dict's would
                append(_string("...", walk))
                return
            read, names, prefix = spec
            pairs = zip(names, read(obj))  # noqa: B905 (the same length: strict= costs 0.1 µs)
            depth += 1
            if prefix is None:
                append("{")
            else:
                append('{"type": ' + _quote(prefix))
                sep = ", "
                left -= len(prefix) + 12
        elif kind is _TEXT:
            append(_string(spec(obj, left), walk))
            return
        elif kind is _MODEL:
            _text(obj.model_dump(), depth + 1, walk, out)
            return
        else:  # anything else: its public attributes as stored, or its description
            fields = _public_fields(obj, t)
            if fields is None:
                append(_string(_describe(obj), walk))
                return
            name = t.__name__
            append('{"type": ' + _quote(name))
            sep = ", "
            left -= len(name) + 12
            pairs = fields
        left += 1  # the opening bracket less the separator the first item does not have
        for key, value in pairs:
            if keyed:
                entry = _KEYS.get(key) if type(key) is str else None  # (no other key's __hash__ runs)
                if entry is None:
                    entry = _key(key, left)
                key_json, cost = entry
                if cost < 0:  # a secret-looking key
                    value, cost = REDACTED, -cost
                left -= cost
            else:
                left -= 2  # the separator
            tv = type(value)
            if tv is str:
                if _secrets._known:  # a registered secret value (a model's key): never written
                    value = scrub_known(value)
                n = len(value) + 2
                if n > left or n > cap or (n > probe and value[0] in "dD" and value[4:5] == ":"):
                    value, n = _leaf(value, n, left, walk)
                append(sep + key_json + _quote(value))
                left -= n
            elif tv is int:
                try:
                    append(sep + key_json + int.__repr__(value))
                except ValueError:  # past Python's limit on digits
                    append(sep + key_json + _int(value))
                left -= 1
            elif value is None:
                append(sep + key_json + "null")
                left -= 1
            elif tv is float:
                append(sep + key_json + _float(value))
                left -= 1
            elif tv is bool:
                append(sep + key_json + ("true" if value else "false"))
                left -= 1
            elif (tv is dict or tv is list) and not value and depth < _MAX_DEPTH:
                append(sep + key_json + ("{}" if tv is dict else "[]"))
                left -= 2
            else:
                append(sep + key_json)
                walk[0] = left
                _text(value, depth + 1, walk, out)
                left = walk[0]
            sep = ", "
            if left < 0:
                break
        append("}" if keyed else "]")
        walk[0] = left - 1
    except Exception:  # keys, items or fields that fail to read: the value described, as a string
        del out[written:]
        walk[0] = start
        append(_string(_describe(obj), walk))
    finally:
        if seen is not None:
            seen.discard(id(obj))


_NO_KEYS = itertools.repeat(None)  # a list's items, paired for the loop above


def _walk_text(
    obj: Any, budget: int, cap: int, images: int = _UNBOUNDED, whole: bool = False
) -> tuple[str, int, int]:
    """One walk of ``obj`` within ``budget`` characters, every string leaf cut to ``cap`` and
    every base64 image longer than ``images`` replaced by a marker; ``whole``: images within
    ``images`` are written whole and not charged to the budget. The text, what is left of the
    budget (negative: something was cut for it) and the characters of the images kept whole."""
    # [budget left, ancestors, leaf cap, the length past which a leaf starting with "d" or "D"
    # is looked at (a data URL's scheme, in any case; at least 2, so the leaf is not empty), the
    # image limit, the characters of images kept whole (None: images are text), whether a leaf
    # was cut for the bound]
    probe = max(min(images, _PROBE) if whole else images, 2)
    walk: _Walk = [budget, None, cap, probe, images, 0 if whole else None, False]
    out: list[str] = []
    try:
        _text(obj, 0, walk, out)
    except _Deep:  # deep or cyclic: again, minding cycles and the depth cap
        walk = [budget, set(), cap, probe, images, 0 if whole else None, False]
        out = []
        _text(obj, 0, walk, out)
    return "".join(out), min(walk[0], -1) if walk[6] else walk[0], walk[5] or 0


_PROBE = 64  # keeping images whole, a leaf longer than this starting like "data:" is checked for an image


_MIN_LEAF = 64


def encode(obj: Any, max_length: int | None = None, images: int | None = None) -> tuple[str, bool]:
    """JSON text for ``obj`` (a string too) of at most ``max_length`` characters that always
    parses, and whether anything was cut.

    Over the bound the leaves are cut, never the text: string leaves longer than a cap keep their
    start and a note saying how much went (a base64 image becomes a marker saying what and how
    big), the cap shrinking until the whole fits; only when the structure alone is too big are
    the last items of its containers left out. A value too big even then becomes a JSON string.

    ``images`` (the image limit; None: images are text like any other): base64 images (data
    URLs, `Base64Image` leaves) longer than this become the marker whatever the bound (0: all);
    those within it are kept whole, neither cut nor counted by ``max_length``, so the text is
    longer than ``max_length`` by the images it keeps.
    """
    whole = images is not None
    img = _UNBOUNDED if images is None else images
    if max_length is None:
        return _walk_text(obj, _UNBOUNDED, _UNBOUNDED, img, whole)[0], False
    text, left, kept = _walk_text(obj, max_length, _UNBOUNDED, img, whole)
    if left >= 0 and len(text) - kept <= max_length:
        return text, False
    cap, last = max_length, None
    for _ in range(8):  # the leaf cap, shrunk by the overshoot, until it fits
        text, left, kept = _walk_text(obj, max_length + max_length // 4, cap, img, whole)
        size = len(text) - kept
        if size <= max_length:
            return text, True
        if cap <= _MIN_LEAF or (last is not None and size > last * 0.95):
            break  # no long leaf left to cut: the structure itself is too big
        over = size - max_length
        cap = max(_MIN_LEAF, cap - over - 8 if last is None else int(cap * max_length / size * 0.9))
        last = size
    budget = max_length
    for _ in range(4):  # the structure is too big: fewer items, within a shrinking budget
        text, left, kept = _walk_text(obj, budget, _MIN_LEAF, img, whole)
        size = len(text) - kept
        if size <= max_length:
            return text, True
        budget -= size - max_length + 16
        if budget <= 0:
            break
    text = _walk_text(obj, max_length, _MIN_LEAF, img)[0]  # images as text: the string is cut
    quoted = _quote(truncate(text, max(max_length // 2, 16)))
    return (quoted if len(quoted) <= max_length else '"...[truncated]"'), True


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data (the JSON `encode` writes, read back), never raising."""
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:
        return obj
    return json.loads(encode(obj)[0])


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
        return truncate(scrub_known(obj), max_length)
    if indent is not None:
        return truncate(json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False), max_length)
    return encode(obj, max_length)[0]

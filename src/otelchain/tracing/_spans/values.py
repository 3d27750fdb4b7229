"""Turning run data into span attribute values: JSON, truncation, secret redaction, and valid
text (no lone surrogates: the OTLP exporters cannot encode them and would drop the batch).

Every text value leaves here with the registered secret values (a model's configured key)
replaced (`otelchain._secrets`)."""

from __future__ import annotations

import json
from typing import Any

from otelchain import _secrets
from otelchain._json import encode, image_marker
from otelchain._json import truncate as _truncate
from otelchain._secrets import scrub_known
from otelchain.tracing._spans import health as _health

__all__ = [
    "Oversized",
    "as_text",
    "bound_attributes",
    "error_type",
    "json_text",
    "sanitize",
    "string_text",
    "truncate",
]


class Oversized(str):
    """A value longer than the text bound (``max_attribute_length``) because it holds base64
    images within the image limit, kept whole. `bound_attributes` lets it pass whole while the
    span has room for it, else fits it to what is left (`_fit`: its images become the marker,
    JSON still parses). Never reaches the SDK: `bound_attributes` sets it as ``str``."""

    __slots__ = ()


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
    if _secrets._known:
        text = scrub_known(text)
    if max_length is not None and len(text) > max_length:
        _health.count("values_truncated")
        text = _truncate(text, max_length)
    return sanitize(text)


def bound_attributes(attrs: dict[str, Any], max_length: int | None, room: int | None = None) -> int:
    """Make every string (and string list) value within ``max_length`` and valid, in place, and
    keep their total within ``room`` characters (None: no total); returns the characters used."""
    used = 0
    secrets = _secrets._known
    for key, value in attrs.items():
        t = type(value)
        if t is str:
            if secrets:
                value = attrs[key] = scrub_known(value)
            n = len(value)
            cap = max_length
            if room is not None and room - used < (n if cap is None else cap):  # the span is nearly full
                cap = _cap(max_length, room - used)
            if (cap is not None and n > cap) or not value.isascii():
                value = attrs[key] = _fit(value, cap)
                n = len(value)
            used += n
        elif t is Oversized:  # images kept whole: within the span's room, else fitted to it
            value = str.__str__(value)  # (a plain copy)
            if room is not None and room - used < len(value):
                value = _fit(value, _cap(max_length, room - used))
            if secrets:
                value = scrub_known(value)
            attrs[key] = value
            used += len(value)
        elif (t is list or t is tuple) and value and type(value[0]) is str:
            items = []
            for v in value:
                if type(v) is str:
                    if secrets:
                        v = scrub_known(v)
                    cap = max_length
                    if room is not None and room - used < (len(v) if cap is None else cap):
                        cap = _cap(max_length, room - used)
                    if (cap is not None and len(v) > cap) or not v.isascii():
                        v = truncate(v, cap)
                    used += len(v)
                items.append(v)
            attrs[key] = items
    return used


def _fit(text: str, cap: int | None) -> str:
    """``text`` within ``cap``: a JSON object or array (a value `json_text` bounded, now past
    the span's room) is encoded again within ``cap``, its leaves cut so it still parses (a base64
    image among them becomes the marker); a base64 image URL becomes the marker; any other text
    is cut with a note (`truncate`)."""
    if cap is not None and len(text) > cap and (marker := image_marker(text)) is not None:
        _health.count("values_truncated")
        return sanitize(marker)
    if cap is not None and len(text) > cap and text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
        try:
            data = json.loads(text)
        except ValueError:
            data = _NOT_JSON
        if data is not _NOT_JSON:
            _health.count("values_truncated")
            return sanitize(encode(data, cap)[0])
    return truncate(text, cap)


_NOT_JSON = object()


def _cap(max_length: int | None, left: int) -> int:
    left = max(left, _MIN_VALUE)  # past the span's budget a value keeps only its start and note
    return left if max_length is None else min(max_length, left)


_MIN_VALUE = 32


def json_text(obj: Any, max_length: int | None, images: int | None = None) -> str:
    """JSON for any value (the one encoder, `otelchain._json.encode`: secrets redacted, cut while
    it is written), made valid Unicode; a cut is counted in the tracing health.

    ``images``: the image limit (see `encode`): base64 images within it are kept whole, the text
    then longer than ``max_length`` (an `Oversized` value); None: images are bounded as text."""
    text, cut = encode(obj, max_length, images)
    if cut:
        _health.count("values_truncated")
    if not text.isascii():
        text = sanitize(text)
    if max_length is not None and len(text) > max_length:
        return Oversized(text)
    return text


def string_text(text: str, max_length: int | None, images: int | None = None) -> str:
    """A string value as is, truncated (`truncate`), unless it is a base64 image data URL: that
    is bounded as the encoder bounds an image leaf. ``images`` (the image limit): an image longer
    than it becomes the marker; one within it is kept whole, an `Oversized` value past
    ``max_length``. None: images are text of the bound, whole within ``max_length``, else the
    marker (a cut): never half an image."""
    marker = image_marker(text)  # None for nearly every text (its first five characters tell)
    if marker is None:
        return truncate(text, max_length)
    if images is not None:
        if len(text) > images:
            return marker
        if max_length is not None and len(text) > max_length:
            return Oversized(sanitize(scrub_known(text) if _secrets._known else text))
    elif max_length is not None and len(text) > max_length:
        _health.count("values_truncated")
        return marker
    return truncate(text, max_length)


def as_text(obj: Any, max_length: int | None) -> str:
    """A string as is, anything else as JSON; bounded (a string that is a base64 image as the
    JSON's image leaves are: whole within ``max_length``, else the marker, `string_text`)."""
    if isinstance(obj, str):
        return string_text(obj, max_length)
    return json_text(obj, max_length)


def error_type(error: BaseException) -> str:
    """The exception's qualified class name, as the SDK writes ``exception.type``."""
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if not module or module == "builtins" else f"{module}.{cls.__qualname__}"

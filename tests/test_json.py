"""The one JSON converter and encoder (`otelchain._json`): bounded by the budget, secrets redacted
at any depth, never raising, never running an unknown object's own code, and the JSON it cuts
agrees with the whole value's JSON."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import ipaddress
import json
import math
import pathlib
import sys
import types
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from otelchain import _json
from otelchain._json import REDACTED, dumps, encode, is_mapping, to_jsonable

SECRET = "hunter2-do-not-export"


class CountingList(list[Any]):
    """A list that counts the items read from it."""

    reads = 0

    def __iter__(self) -> Iterator[Any]:
        for item in super().__iter__():
            self.reads += 1
            yield item


class Keys(Mapping[Any, Any]):
    """A mapping that is not a dict."""

    def __init__(self, data: dict[Any, Any]) -> None:
        self.data = data

    def __getitem__(self, key: Any) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class Settings(BaseModel):
    api_key: str = SECRET
    nested: dict[str, Any] = {"password": SECRET, "ok": 1}


@dataclasses.dataclass
class Config:
    name: str
    client_secret: str = SECRET
    extra: Any = None


class Plain:
    def __init__(self, inner: Any) -> None:
        self.authorization = f"Bearer {SECRET}"
        self.inner = inner
        self._private = SECRET


class Key(enum.Enum):
    TOKEN = "token"


class Name:
    """A dict key that is not a str but reads as one."""

    def __str__(self) -> str:
        return "access_token"


def _secret_everywhere() -> Any:
    deep: dict[str, Any] = {"api_key": SECRET}
    for _ in range(20):  # past the fast walk's depth: the walk that tracks cycles
        deep = {"d": deep}
    return {
        "password": SECRET,
        "list": [{"Authorization": SECRET}, ({"x-api-key": SECRET},)],
        "dataclass": Config("c", extra={"secret": SECRET}),
        "model": Settings(),
        "object": Plain({"cookie": SECRET}),
        "mapping": Keys({"credential": SECRET, Name(): SECRET}),
        "deep": deep,
    }


@pytest.mark.parametrize("budget", [None, 100_000])
def test_secrets_are_redacted_at_every_depth_on_every_path(budget: int | None) -> None:
    value = _secret_everywhere()
    cyclic = _secret_everywhere()
    cyclic["self"] = cyclic  # a cycle: the walk that tracks them
    for v in (value, cyclic):
        texts = [json.dumps(to_jsonable(v)), dumps(v, max_length=budget), encode(v, budget)[0]]
        for text in texts:
            assert SECRET not in text
            assert text.count(REDACTED) == 12, text
    assert to_jsonable(cyclic)["self"] == "[circular]"


def test_max_tokens_and_token_counts_are_not_secrets() -> None:
    assert to_jsonable({"max_tokens": 5, "total_tokens": 9, "token": "t"}) == {
        "max_tokens": 5,
        "total_tokens": 9,
        "token": REDACTED,
    }


def _walked(value: Any, budget: int) -> str:
    """The JSON the walk writes for ``value`` with ``budget`` characters, before `encode` cuts it."""
    out: list[str] = []
    _json._text(value, 0, [budget, None, sys.maxsize, sys.maxsize, sys.maxsize, None, False], out)
    return "".join(out)


def test_a_huge_list_is_read_only_as_far_as_the_budget() -> None:
    big = CountingList(range(1_000_000))
    text, cut = encode({"items": big}, 1000)
    # each item takes at least 3 characters (a digit and ", "); a few bounded walks at most
    assert big.reads <= 6 * 1000 // 3
    assert cut and len(text) <= 1000 and text.startswith('{"items": [0, 1, 2, ')
    assert json.loads(text)["items"][:3] == [0, 1, 2]  # fewer items, still JSON


def test_huge_strings_keys_and_messages_are_cut_before_they_are_copied() -> None:
    huge = "x" * 5_000_000
    for value in ({"t": huge}, huge, {huge: 1}, [RuntimeError(huge)], Config(huge), [[huge]]):
        assert 100 < len(_walked(value, 100)) < 200
    text, cut = encode({"t": huge}, 16_384)
    assert cut and 16_000 < len(text) <= 16_384 and text.startswith('{"t": "xxx')
    assert json.loads(text)["t"].startswith("xxx") and "...[truncated " in json.loads(text)["t"]


def test_values_past_the_fast_walk_keep_the_depth_cap_and_cycle_marks() -> None:
    deep: Any = "leaf"
    for _ in range(40):
        deep = [deep]
    plain = to_jsonable(deep)
    for _ in range(33):
        plain = plain[0]
    assert plain == "..."
    shared = {"a": 1}
    assert to_jsonable([shared, shared]) == [{"a": 1}, {"a": 1}]  # shared is not circular
    loop: list[Any] = []
    loop.append({"again": loop})
    assert to_jsonable(loop) == [{"again": "[circular]"}]


class Unprintable:
    __slots__ = ()

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class BadDump(BaseModel):
    v: int = 1

    def model_dump(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("cannot dump")


class BadKey:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "BadKey()"


def test_odd_values_never_raise_and_keep_their_text() -> None:
    when = datetime.datetime(2024, 5, 6, 7, 8, 9)
    value = {
        "nan": math.nan,
        "inf": [math.inf, -math.inf],
        1: "int key",
        None: "none key",
        "bytes": b"abc",
        "when": when,
        "id": uuid.UUID(int=1),
        "enum": Key.TOKEN,
        "error": ValueError("bad"),
        "unprintable": Unprintable(),
        "bad str": BadStr(),
        "bad dump": BadDump(),
        "bad key": {BadKey(): 1},
        "set": frozenset({3}),
        "huge int": 10**5000,
        "class": Settings,
    }
    plain = to_jsonable(value)
    assert plain["nan"] == "nan" and plain["inf"] == ["inf", "-inf"]
    assert plain["1"] == "int key" and plain["None"] == "none key"
    assert plain["bytes"] == "<3 bytes>" and plain["when"] == "2024-05-06T07:08:09"
    assert plain["id"] == "00000000-0000-0000-0000-000000000001" and plain["enum"] == "token"
    assert plain["error"] == "ValueError('bad')" and plain["unprintable"] == "<Unprintable>"
    assert plain["bad str"] == "BadStr('')" and plain["bad dump"] == "<BadDump>"
    assert plain["bad key"] == {"<BadKey>": "[REDACTED]"} and plain["set"] == [3]
    assert plain["class"] == repr(Settings)
    text = dumps(value)
    assert json.loads(text)["huge int"] == "<int of 16610 bits>"
    text, cut = encode(value, 200)
    assert cut and len(text) <= 200 and isinstance(json.loads(text), (dict, str))


def test_strings_stay_strings_in_dumps_and_become_json_in_encode() -> None:
    assert dumps("a\nb") == "a\nb" and encode("a\nb") == ('"a\\nb"', False)
    assert dumps("x" * 100, max_length=40).endswith("...[truncated 83 chars]")


def _nested(leaves: st.SearchStrategy[Any], keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Lists, dicts and dataclasses of ``leaves``, nested."""
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=6),
            st.dictionaries(keys, inner, max_size=6),
            inner.map(lambda v: Config("c", extra=v)),
        ),
        max_leaves=40,
    )


json_values = _nested(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(st.characters(exclude_categories=()), max_size=40),
    ),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(min_value=16, max_value=300))
def test_cut_json_agrees_with_the_whole_value_up_to_the_note(value: Any, limit: int) -> None:
    whole, whole_cut = encode(value)
    text, cut = encode(value, limit)
    assert whole == json.dumps(json.loads(whole), ensure_ascii=False)  # json's own text for it
    assert not whole_cut
    if len(whole) <= limit:
        assert (text, cut) == (whole, False)
        return
    assert cut and len(text) <= limit
    json.loads(text)  # bounded JSON is still JSON: leaves are cut, never the text


def test_the_text_is_what_json_dumps_writes_for_the_plain_data() -> None:
    value = _secret_everywhere()
    value["odd"] = [math.nan, -0.0, 1e300, 2**80, 'tab\tquote"nul\x00', "\ud800", "é", None, True, False]
    text = encode(value)[0]
    assert text == json.dumps(to_jsonable(value), ensure_ascii=False)
    assert to_jsonable(value)["odd"][:4] == ["nan", -0.0, 1e300, 2**80]


def test_is_mapping_is_isinstance_mapping() -> None:
    for value, expected in [
        ({}, True),
        (Keys({}), True),
        (types.MappingProxyType({}), True),
        ([], False),
        ("ab", False),
        (Settings(), False),
    ]:
        assert is_mapping(value) is expected
        assert is_mapping(value) is isinstance(value, Mapping)


class FailsHalfway(Mapping[str, int]):
    """A mapping that yields long keys, then fails: its repr stands for it."""

    def __getitem__(self, key: str) -> int:
        return 1

    def __iter__(self) -> Iterator[str]:
        for i in range(8):  # 856 characters of JSON, then the error
            yield f"{i}" * 100
        raise RuntimeError("gone")

    def __len__(self) -> int:
        return 9

    def __repr__(self) -> str:
        return "<FailsHalfway>"


class Hostile(type):
    def __getattr__(cls, name: str) -> Any:
        raise RuntimeError(f"no {name}")


class Guarded(metaclass=Hostile):
    def __repr__(self) -> str:
        return "<Guarded>"


def test_a_value_that_fails_midway_is_its_repr_and_takes_only_its_size() -> None:
    value = {"m": FailsHalfway(), "tail": "y" * 500}
    assert encode(value, 1000) == ('{"m": "<FailsHalfway>", "tail": "' + "y" * 500 + '"}', False)
    assert to_jsonable([Guarded()]) == ["<Guarded>"]


letters_json = _nested(st.text("abcxyz", max_size=40), st.text("abcxyz", max_size=12))


@settings(max_examples=300, deadline=None)
@given(value=letters_json, limit=st.integers(min_value=16, max_value=300))
def test_text_without_escapes_or_numbers_is_cut_while_converted(value: Any, limit: int) -> None:
    """Strings of plain letters are charged exactly: what fits is whole, what does not is cut at
    its leaves and still parses, each cut string keeping its start."""
    whole, _ = encode(value)
    text, cut = encode(value, limit)
    if len(whole) <= limit:
        assert (text, cut) == (whole, False)
    else:
        assert cut and len(text) <= limit
        json.loads(text)


def test_json_found_too_long_only_once_written_is_cut_with_the_exact_count() -> None:
    """Escapes and numbers are charged at their least: such JSON may pass the walk and still be long."""
    text, cut = encode({"k": "\n" * 100}, 150)  # 100 characters, 200 once escaped
    assert cut and len(text) <= 150 and json.loads(text)["k"].startswith("\n\n")
    assert "...[truncated " in json.loads(text)["k"]


class Slotted:
    __slots__ = ("_hidden", "never_set", "shown")

    def __init__(self) -> None:
        self.shown = 1
        self._hidden = SECRET

    def __repr__(self) -> str:
        raise AssertionError("__repr__ ran")


class Opaque:
    """No attributes of its own; its code must not run."""

    __slots__ = ()

    def __repr__(self) -> str:
        raise AssertionError("__repr__ ran")

    def __str__(self) -> str:
        raise AssertionError("__str__ ran")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"__getattr__({name}) ran")


class Shade(enum.Enum):
    DARK = 1


class Explains(Exception):
    def __str__(self) -> str:
        raise AssertionError("__str__ ran")


# (value, its JSON as to_jsonable reads it back): the documented description of unknown objects.
UNKNOWN_SHAPES: list[tuple[Any, Any]] = [
    (Slotted(), {"type": "Slotted", "shown": 1}),
    (Opaque(), "<Opaque>"),
    (Plain({"x": 1}), {"type": "Plain", "authorization": REDACTED, "inner": {"x": 1}}),
    (Opaque, f"<class '{__name__}.Opaque'>"),
    (decimal.Decimal("1.50"), "1.50"),
    (fractions.Fraction(1, 3), "1/3"),
    (complex(1, 2), "(1+2j)"),
    (range(3), "range(0, 3)"),
    (pathlib.PurePosixPath("/tmp/x"), "/tmp/x"),
    (ipaddress.ip_address("10.0.0.1"), "10.0.0.1"),
    (collections.deque([1, "a"]), [1, "a"]),
    (ValueError("plain", 2), "ValueError(\"('plain', 2)\")"),
    (Explains("its first string", Opaque()), "Explains('its first string')"),
    (
        {Shade.DARK: 1, (1, "a"): 2, 3.5: 3, Opaque(): 4},
        {"Shade.DARK": 1, "(1, 'a')": 2, "3.5": 3, "<Opaque>": REDACTED},
    ),
]


@pytest.mark.parametrize(
    ("value", "expected"), UNKNOWN_SHAPES, ids=[str(i) for i in range(len(UNKNOWN_SHAPES))]
)
def test_unknown_objects_are_described_without_running_their_code(value: Any, expected: Any) -> None:
    assert to_jsonable(value) == expected


# --- base64 images: the image limit, not the text bound, decides their fate -----------------
IMAGE = "data:image/png;base64," + "iVBORw0KGgo" * 1_900  # 20,922 characters, past the 16 KiB bound


def test_an_image_within_the_image_limit_is_kept_whole_and_not_counted() -> None:
    value = {"messages": [{"text": "x" * 20_000, "image": IMAGE}], "tail": "y" * 100}
    text, cut = encode(value, 16_384, 32_000)
    data = json.loads(text)
    assert data["messages"][0]["image"] == IMAGE and data["tail"] == "y" * 100
    assert cut and data["messages"][0]["text"].endswith(" chars]")  # other long leaves still cut
    assert len(text) - len(IMAGE) - 2 <= 16_384  # the text bound holds for everything else
    # not counted: text that fits beside the image stays whole
    text, cut = encode(["z" * 10_000, IMAGE], 16_384, 32_000)
    assert json.loads(text) == ["z" * 10_000, IMAGE] and not cut
    assert encode(IMAGE, 100, 32_000) == (json.dumps(IMAGE), False)


@pytest.mark.parametrize("images", [0, 1_000, len(IMAGE) - 1])
def test_an_image_past_the_image_limit_becomes_the_marker(images: int) -> None:
    text, cut = encode({"image": IMAGE, "text": "short"}, 16_384, images)
    assert json.loads(text) == {"image": f"[base64 image/png: {len(IMAGE)} chars omitted]", "text": "short"}
    assert cut is False  # (what the image limit replaces is not a cut of the bound)
    small = "data:image/gif;base64,R0lGOD"
    assert json.loads(encode([small], 16_384, 0)[0]) == [f"[base64 image/gif: {len(small)} chars omitted]"]


def test_without_an_image_limit_images_are_text_of_the_bound() -> None:
    # images=None: an image past the bound is the marker (a cut), one that fits counts against
    # the bound like any text: here the pair does not fit, and the leaves are cut
    text, cut = encode({"image": IMAGE}, 16_384)
    assert json.loads(text) == {"image": f"[base64 image/png: {len(IMAGE)} chars omitted]"} and cut
    small = IMAGE[:10_000]
    text, cut = encode([small, "z" * 10_000], 16_384)
    assert cut and json.loads(text) != [small, "z" * 10_000] and len(text) <= 16_384
    assert encode([small, "z" * 10_000], 16_384, 32_000) == (json.dumps([small, "z" * 10_000]), False)


def test_bare_base64_data_is_an_image_when_marked_so() -> None:
    data = _json.Base64Image("iVBORw0KGgo" * 1_900, "image/png")
    value = [{"type": "blob", "content": data}, "x" * 20_000]
    text, _ = encode(value, 16_384, 32_000)
    assert json.loads(text)[0]["content"] == data and len(text) - len(data) - 2 <= 16_384
    for images in (None, 1_000):
        text, _ = encode(value, 16_384, images)
        assert json.loads(text)[0]["content"] == f"[base64 image/png: {len(data)} chars omitted]"
    assert encode(data, None) == (json.dumps(str(data)), False)


def test_the_structure_too_big_for_the_bound_still_parses_with_images_kept() -> None:
    value = [IMAGE] + [{"k": i} for i in range(5_000)]
    text, cut = encode(value, 16_384, 32_000)
    data = json.loads(text)
    assert cut and len(text) - len(IMAGE) - 2 <= 16_384
    assert data[0] == IMAGE and 0 < len(data) < 5_001


@pytest.mark.parametrize(
    "head", ["DATA:image/jpeg;BASE64,", "Data:Image/JPEG;Base64,", "data:image/jpeg;BASE64,"]
)
def test_a_data_url_is_an_image_whatever_the_case_of_its_scheme_and_token(head: str) -> None:
    """URL schemes and the ``base64`` token are case-insensitive: each spelling is the same image."""
    image = head + "/9j/4AAQSkZJRg" * 1_500
    marker = f"[base64 image/jpeg: {len(image)} chars omitted]"
    assert _json.image_marker(image) == marker
    for images in (0, 1_000):  # past the image limit (all images, hidden): the marker
        assert json.loads(encode({"image": image}, 16_384, images)[0]) == {"image": marker}
        assert json.loads(encode([image], 16_384, images)[0]) == [marker]
    assert json.loads(encode({"image": image}, 16_384, 32_000)[0]) == {"image": image}  # within it: whole
    text, cut = encode({"image": image}, 16_384)  # no image limit: past the bound, the marker
    assert json.loads(text) == {"image": marker} and cut


def test_text_that_only_starts_like_a_data_url_is_text() -> None:
    for text in ("Data: 12 rows. " + "d" * 100, "DATA:" + "x" * 200, "d" * 200, "D" * 70):
        assert _json.image_marker(text) is None
        for images in (None, 0, 32_000):
            assert encode({"k": text}, 16_384, images) == (json.dumps({"k": text}), False)
            assert encode([text], 16_384, images) == (json.dumps([text]), False)

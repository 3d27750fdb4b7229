"""PromptTemplate: variables, formatting, clear errors."""

from __future__ import annotations

import pytest

from otelchain.prompts import PromptTemplate


def test_from_template_finds_variables_in_order() -> None:
    p = PromptTemplate.from_template("{b} and {a} and {b} {{literal}}")
    assert p.input_variables == ["b", "a"]
    assert p.format(a=1, b=2) == "2 and 1 and 2 {literal}"


def test_missing_variable_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"missing variable\(s\) \['number'\]"):
        PromptTemplate.from_template("1 + {number} =").format()


def test_invalid_template_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="invalid prompt template"):
        PromptTemplate.from_template("1 + {number =")
    with pytest.raises(ValueError, match="positional field"):
        PromptTemplate.from_template("{} + 1")


def test_partial() -> None:
    p = PromptTemplate.from_template("{greeting}, {name}").partial(greeting="Hi")
    assert p.input_variables == ["name"]
    assert p.format(name="Ada") == "Hi, Ada"

"""Prompt templates."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

__all__ = ["PromptTemplate"]


class PromptTemplate:
    """A ``str.format``-style template: ``PromptTemplate.from_template("1 + {number} =")``."""

    def __init__(
        self,
        template: str,
        input_variables: list[str] | None = None,
        partial_variables: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(template, str):
            raise TypeError(f"template must be a str, got {type(template).__name__}")
        found = _variables(template)
        self.template = template
        self.partial_variables = dict(partial_variables or {})
        self.input_variables = (
            list(input_variables)
            if input_variables is not None
            else [v for v in found if v not in self.partial_variables]
        )

    @classmethod
    def from_template(cls, template: str, **kwargs: Any) -> PromptTemplate:
        return cls(template, **kwargs)

    def partial(self, **kwargs: Any) -> PromptTemplate:
        return PromptTemplate(self.template, partial_variables={**self.partial_variables, **kwargs})

    def format(self, **kwargs: Any) -> str:
        values = {**self.partial_variables, **kwargs}
        missing = [v for v in self.input_variables if v not in values]
        if missing:
            raise ValueError(
                f"PromptTemplate is missing variable(s) {missing}; got {sorted(kwargs)} "
                f"for template {self.template[:60]!r}"
            )
        try:
            return self.template.format(**values)
        except (KeyError, IndexError, AttributeError) as error:
            raise ValueError(f"cannot format prompt template {self.template[:60]!r}: {error!r}") from None

    def __repr__(self) -> str:
        return f"PromptTemplate(input_variables={self.input_variables}, template={self.template!r})"


def _variables(template: str) -> list[str]:
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"invalid prompt template {template[:60]!r}: {error}") from None
    for _, field, _, _ in parsed:
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise ValueError(f"prompt template {template[:60]!r} uses a positional field; name it")
        name = field.split(".")[0].split("[")[0]
        if name not in names:
            names.append(name)
    return names

"""Span attribute values: the fast JSON path gives exactly what the robust encoder gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from otelchain._json import dumps
from otelchain.tracing._values import json_text


class Settings(BaseModel):
    api_key: str = "sk-not-for-spans"
    retries: int = 2


class Broken(BaseModel):
    value: int = 1

    def model_dump(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("cannot dump")


def _cases() -> list[Any]:
    return [
        {"messages": [[SystemMessage("be brief"), HumanMessage("hi", additional_kwargs={"password": "x"})]]},
        [AIMessage("", tool_calls=[{"name": "f", "args": {"token": "t", "q": 1}, "id": "c1"}])],
        {"doc": Document(page_content="text", metadata={"source": "a", "n": 1})},
        {"tool": ToolMessage("out", tool_call_id="1")},
        {"settings": Settings()},
        {"model_class": Settings},
        {"broken": Broken()},
    ]


@pytest.mark.parametrize("index", range(7))
def test_pydantic_models_encode_as_the_robust_encoder_does(index: int) -> None:
    value = _cases()[index]
    assert json.loads(json_text(value, None)) == json.loads(dumps(value))


def test_secret_fields_of_models_are_redacted() -> None:
    text = json_text({"settings": Settings()}, None)
    assert "sk-not-for-spans" not in text
    assert json.loads(text) == {"settings": {"api_key": "[REDACTED]", "retries": 2}}

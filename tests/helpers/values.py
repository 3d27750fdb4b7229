"""The values a traced run encodes most (shared by the JSON tests and `benchmarks/bench_json.py`)."""

from __future__ import annotations

from typing import Any

from otelchain import schema
from otelchain.chat_models import FakeListChatModel
from tests.helpers.events import Recorder


def hot_json_shapes() -> dict[str, Any]:
    """Chain inputs, invocation parameters, an LLMResult, messages, and two huge values that must
    stay bounded, by name."""
    recorder = Recorder()
    FakeListChatModel(["The capital of France is Paris."], model="gpt-4o-mini").call(
        "What is the capital of France?", callbacks=[recorder]
    )
    (end,) = recorder.of("llm_end")
    return {
        '{"x": 1}': {"x": 1},
        "invocation params": {
            "model": "gpt-4o-mini",
            "_type": "fake",
            "temperature": 0.2,
            "max_tokens": 256,
            "top_p": 0.9,
            "stop": ["\n\n"],
        },
        "LLMResult": end.payload,
        "two messages": [
            schema.SystemMessage("Be brief."),
            schema.HumanMessage("What is the capital of France?"),
        ],
        "5,000,000-char string in a dict": {"text": "x" * 5_000_000},
        "100,000-item list": list(range(100_000)),
    }

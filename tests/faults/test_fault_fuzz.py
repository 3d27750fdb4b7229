"""Hypothesis fuzzing of inputs, outputs, tags, metadata, token text and exceptions through the
tracing handler, the verbose console and the span tree: no exception escapes tracing, every
span ends, and every exported value is bounded and valid Unicode (issue 11)."""

from __future__ import annotations

import io
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelchain.callbacks import CallbackManagerForChainRun, ConsoleCallbackHandler
from otelchain.llms import FakeListLLM
from otelchain.tracing import ConsoleSpanTreeExporter
from tests.helpers import XYChain, make_traced

LIMIT = 64  # small, so truncation is exercised on every other example

# Any code point, lone surrogates included.
text = st.text(st.characters(exclude_categories=()), max_size=200)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), text)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(text, inner, max_size=5)),
    max_leaves=20,
)


class Fuzzed(XYChain):
    """Streams the given tokens from a model, then returns ``outputs`` or raises ``error``."""

    def __init__(self, tokens: list[str], outputs: Any, error: BaseException | None, **kw: Any) -> None:
        super().__init__(**kw)
        self.tokens, self.outputs, self.error = tokens, outputs, error

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        if self.tokens:
            FakeListLLM([self.tokens], streaming=True).call("p", callbacks=run_manager.get_child())
        if self.error is not None:
            raise self.error
        return {"y": self.outputs}


class Oops(Exception):
    """The fuzzed failure."""


def _valid(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    inputs=values,
    outputs=values,
    tags=st.lists(text, max_size=4),
    metadata=st.dictionaries(
        st.one_of(text, st.sampled_from(["session_id", "user_id", "thread_id", "api_key"])),
        values,
        max_size=4,
    ),
    tokens=st.lists(text, max_size=8),
    message=st.one_of(st.none(), text),
)
def test_fuzzed_runs_through_tracing_console_and_span_tree(
    inputs: Any,
    outputs: Any,
    tags: list[str],
    metadata: dict[str, Any],
    tokens: list[str],
    message: str | None,
) -> None:
    app = make_traced(max_attribute_length=LIMIT)
    tree, console_out = io.StringIO(), io.StringIO()
    app.provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(tree, color=False)))
    handler, console = app.handler, ConsoleCallbackHandler(console_out)
    app.extra.append(console)
    chain = Fuzzed(tokens, outputs, None if message is None else Oops(message))
    try:
        chain.call({"x": inputs}, [handler, console], tags=tags, metadata=metadata)
    except Oops:
        assert message is not None
    else:
        assert message is None
    app.provider.shutdown()
    app.assert_clean()
    assert handler.error_counts == {}
    for span in app.spans:
        assert _valid(span.name) and _valid(span.status.description or "")
        groups = [span.attributes or {}, *(e.attributes or {} for e in span.events)]
        for attrs in groups:
            for key, value in attrs.items():
                for v in value if isinstance(value, tuple) else (value,):
                    if isinstance(v, str):
                        assert len(v) <= LIMIT and _valid(v), (key, v)
                    elif isinstance(v, float):
                        assert not math.isnan(v) or key.startswith("gen_ai.request")

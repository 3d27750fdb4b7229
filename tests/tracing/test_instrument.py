"""`instrument()` makes every run a span with no code change; `OTELCHAIN_TRACING=true` at import; a
bad option is one clear error, a bad variable one warning and the default."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from otelchain.callbacks import CallbackManager
from otelchain.chains import LLMChain
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tracing import OpenTelemetryCallbackHandler, instrument, instrumented_handler, uninstrument
from tests.helpers import make_traced, tree


def chain() -> LLMChain:
    return LLMChain(llm=FakeListLLM(["3"]), prompt=PromptTemplate.from_template("1 + {n} ="))


def test_instrument_traces_runs_without_callbacks() -> None:
    t = make_traced()
    handler = instrument(t.provider)
    try:
        out = chain().call({"n": 2})
        assert tree(t.spans) == [
            ("invoke_workflow llm_chain", None),
            ("text_completion fake-list", "invoke_workflow llm_chain"),
        ]
        assert out.run_info is not None and out.run_info.trace_id is not None
        assert instrumented_handler() is handler
    finally:
        uninstrument()
    chain().call({"n": 2})
    assert len(t.spans) == 2  # nothing more after uninstrument
    assert instrumented_handler() is None


def test_frameworks_added_by_the_package_root_follow_instrument() -> None:
    """`instrument()` reaches frameworks above tracing through `add_framework` (the package root
    adds langchain-core's): enabled with the shared handler, now if one is installed, and
    disabled by `uninstrument()`; adding the same one twice changes nothing."""
    from otelchain.tracing._setup import instrument as setup

    seen: list[object] = []

    def enable(handler_of: Any) -> None:
        seen.append(handler_of())

    def disable() -> None:
        seen.append("disabled")

    t = make_traced()
    before = list(setup._frameworks)
    try:
        handler = instrument(t.provider)
        setup.add_framework(enable, disable)
        setup.add_framework(enable, disable)
        assert seen == [handler]
        again = instrument(t.provider)
        assert seen == [handler, again]
        uninstrument()
        assert seen == [handler, again, "disabled"]
    finally:
        uninstrument()
        setup._frameworks[:] = before


def test_instrument_twice_keeps_exactly_one_handler() -> None:
    t = make_traced()
    instrument(t.provider)
    second = instrument(t.provider)
    try:
        manager = CallbackManager.configure([second], None)
        otel = [h for h in manager.handlers if isinstance(h, OpenTelemetryCallbackHandler)]
        assert otel == [second]
        chain().call({"n": 2}, callbacks=[second])
        assert len(t.spans) == 2
    finally:
        uninstrument()


def test_instrument_passes_handler_options() -> None:
    t = make_traced()
    instrument(t.provider, capture_content=False)
    try:
        chain().call({"n": 2})
    finally:
        uninstrument()
    assert all("input.value" not in (s.attributes or {}) for s in t.spans)


SCRIPT = """
import otelchain
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otelchain.tracing import instrumented_handler
print("instrumented", instrumented_handler() is not None)
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # set after import: the proxy tracer picks it up
from otelchain.llms import FakeListLLM
FakeListLLM(["x"]).call("hi")
print("spans", [s.name for s in exporter.get_finished_spans()])
"""


def run_script(value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL")}
    env.pop("OTELCHAIN_TRACING", None)
    if value is not None:
        env["OTELCHAIN_TRACING"] = value
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_env_var_instruments_at_import() -> None:
    out = run_script("true")
    assert "instrumented True" in out and "spans ['text_completion fake-list']" in out


def test_without_env_var_nothing_is_instrumented() -> None:
    out = run_script(None)
    assert "instrumented False" in out and "spans []" in out
    assert "instrumented False" in run_script("false")


# --- bad options: one clear error naming the option; a bad variable: a warning and the default --


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"tracer_provider": "not a provider"}, TypeError, "tracer_provider must be .*TracerProvider.*str"),
        ({"conventions": "nope"}, ValueError, r"conventions .*'all'.*gen_ai.*openinference.*otelchain.*nope"),
        ({"conventions": ["gen_ai", "x"]}, ValueError, r"conventions .*\['x'\]"),
        ({"conventions": ""}, ValueError, "conventions .*non-empty"),
        ({"conventions": 3}, TypeError, "conventions must be .*names.*int"),
        ({"conventions": [3]}, TypeError, "conventions must be .*names.*int"),
        ({"max_attribute_length": "16k"}, TypeError, "max_attribute_length must be an int .*str"),
        ({"max_attribute_length": 1.5}, TypeError, "max_attribute_length must be an int .*float"),
        ({"max_attribute_length": True}, TypeError, "max_attribute_length must be an int .*bool"),
        ({"max_attribute_length": 0}, ValueError, "max_attribute_length must be at least 16 .*got 0"),
        ({"max_span_length": -1}, ValueError, "max_span_length must be at least 16 .*got -1"),
        ({"max_span_length": 0}, ValueError, "max_span_length must be at least 16"),
        ({"max_span_length": "512k"}, TypeError, "max_span_length must be an int"),
        ({"cost": "no"}, TypeError, "cost must be True, False or None.*str"),
    ],
)
def test_a_bad_option_raises_one_clear_error_naming_it(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    for make in (instrument, OpenTelemetryCallbackHandler):
        with pytest.raises(error, match=message) as caught:
            make(**options)
        assert len(caught.traceback) <= 5, caught.traceback  # raised up front, not deep inside
    assert instrumented_handler() is None  # nothing installed by the failed call


@pytest.mark.parametrize("value", ["nope", "gen_ai,bogus", ","])
def test_a_bad_conventions_variable_warns_once_and_uses_the_default(
    value: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from otelchain import _options
    from otelchain.tracing._handler import DEFAULT_CONVENTIONS

    monkeypatch.setattr(_options, "_reported", set())
    monkeypatch.setenv("OTELCHAIN_CONVENTIONS", value)
    t = make_traced(conventions=None)
    handler = instrument(t.provider)
    try:
        assert handler.conventions == t.handler.conventions == DEFAULT_CONVENTIONS
        chain().call({"n": 2})
    finally:
        uninstrument()
    assert sorted(s.name for s in t.spans) == ["invoke_workflow llm_chain", "text_completion fake-list"]
    warnings = [r.getMessage() for r in caplog.records if "OTELCHAIN_CONVENTIONS" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert f"OTELCHAIN_CONVENTIONS={value!r}" in warnings[0] and "using the default (gen_ai)" in warnings[0]
    assert all(name in warnings[0] for name in ("'all'", "gen_ai", "openinference", "otelchain"))


def test_help_lists_every_option_instrument_takes() -> None:
    """`help(instrument)` names every handler option (they are passed on) and `uninstrument()`."""
    import inspect

    doc = instrument.__doc__ or ""
    for name in inspect.signature(OpenTelemetryCallbackHandler).parameters:
        assert f"``{name}``" in doc, name
    assert "uninstrument()" in doc and "inheritable" not in doc

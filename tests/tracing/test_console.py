"""Verbose output rendered from spans, and the finished-trace tree exporter."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelchain.callbacks import ConsoleCallbackHandler
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.tracing import ConsoleSpanTreeExporter, OpenTelemetryCallbackHandler
from tests.tracing.test_agents_capture import seed_executor
from tests.tracing.test_spans import Boom, seed_chain

EXPECTED_SEED = """\
[chain/start] [1:chain:llm_chain] Entering Chain run with input:
{
  "number": 2
}
[llm/start] [1:chain:llm_chain > 2:llm:fake-list] Entering LLM run with input:
{
  "prompts": [
    "1 + 2 ="
  ]
}
[llm/end] [1:chain:llm_chain > 2:llm:fake-list] [T] Exiting LLM run with output:
{
  "generations": [
    [
      {
        "text": " 3\\n\\n3 - 1 = 2",
        "generation_info": {
          "finish_reason": "stop"
        },
        "type": "Generation"
      }
    ]
  ],
  "llm_output": {
    "token_usage": {
      "prompt_tokens": 4,
      "completion_tokens": 6,
      "total_tokens": 10
    },
    "model_name": "fake-list"
  },
  "run": null
}
[chain/end] [1:chain:llm_chain] [T] Exiting Chain run with output:
{
  "text": " 3\\n\\n3 - 1 = 2"
}
"""


def timeless(text: str) -> str:
    return re.sub(r"\[\d+ms\]|\[\d+\.\d\ds\]", "[T]", text)


def test_console_prints_langchain_lines_from_spans() -> None:
    stream = io.StringIO()
    seed_chain().call({"number": 2}, callbacks=[ConsoleCallbackHandler(stream)])
    assert timeless(stream.getvalue()) == EXPECTED_SEED


def test_console_agent_run_has_action_tool_and_finish_lines() -> None:
    stream = io.StringIO()
    seed_executor().call({"input": "What is 2 to the power of 8"}, callbacks=[ConsoleCallbackHandler(stream)])
    out = stream.getvalue()
    heads = re.findall(r"^\[(\w+/\w+)\] \[([^\]]*)\]", out, flags=re.M)
    assert heads == [
        ("chain/start", "1:chain:agent_executor"),
        ("chain/start", "1:chain:agent_executor > 2:chain:llm_chain"),
        ("llm/start", "1:chain:agent_executor > 2:chain:llm_chain > 3:llm:fake-list-chat-model"),
        ("llm/end", "1:chain:agent_executor > 2:chain:llm_chain > 3:llm:fake-list-chat-model"),
        ("chain/end", "1:chain:agent_executor > 2:chain:llm_chain"),
        ("agent/action", "1:chain:agent_executor"),
        ("tool/start", "1:chain:agent_executor > 4:tool:calculator"),
        ("tool/end", "1:chain:agent_executor > 4:tool:calculator"),
        ("chain/start", "1:chain:agent_executor > 5:chain:llm_chain"),
        ("llm/start", "1:chain:agent_executor > 5:chain:llm_chain > 6:llm:fake-list-chat-model"),
        ("llm/end", "1:chain:agent_executor > 5:chain:llm_chain > 6:llm:fake-list-chat-model"),
        ("chain/end", "1:chain:agent_executor > 5:chain:llm_chain"),
        ("agent/finish", "1:chain:agent_executor"),
        ("chain/end", "1:chain:agent_executor"),
    ]
    assert '[agent/action] [1:chain:agent_executor] Agent selected action:\n{\n  "tool": "calculator",' in out
    assert '"tool_input": "2^8"' in out
    assert (
        '[tool/start] [1:chain:agent_executor > 4:tool:calculator] Entering Tool run with input:\n"2^8"'
        in out
    )
    assert re.search(
        r"\[tool/end\] \[[^\]]*\] \[\d+(ms|\.\d\ds)\] Exiting Tool run with output:\n\"256\"", out
    )
    assert '"output": "256"' in out
    assert "\x1b[" not in out  # not a terminal: no colours


def test_console_error_line() -> None:
    stream = io.StringIO()
    with pytest.raises(ValueError):
        Boom(ValueError("bad input")).call({"x": 1}, callbacks=[ConsoleCallbackHandler(stream)])
    out = timeless(stream.getvalue())
    assert out.endswith(
        "[chain/error] [1:chain:boom] [T] Chain run errored with error:\n\"ValueError('bad input')\"\n"
    )


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colours_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = Tty()
    FakeListLLM(["x"]).call("hi", callbacks=[ConsoleCallbackHandler(stream)])
    assert "\x1b[32;1m[llm/start]\x1b[0m" in stream.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Tty()
    FakeListLLM(["x"]).call("hi", callbacks=[ConsoleCallbackHandler(stream)])
    assert "\x1b[" not in stream.getvalue()


def test_verbose_console_spans_are_never_current() -> None:
    handler = ConsoleCallbackHandler(io.StringIO())
    out = FakeListLLM(["x"]).call("hi", callbacks=[handler])
    assert out.run_info is not None and out.run_info.trace_id is None
    assert handler.runs == {}


def test_verbose_console_respects_no_capture_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verbose mode is a local debugging view: it always shows inputs and outputs."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    stream = io.StringIO()
    FakeListLLM(["visible"]).call("hi", callbacks=[ConsoleCallbackHandler(stream)])
    assert '"visible"' in stream.getvalue()


# --- tree exporter ------------------------------------------------------------------------------


def tree_output(run: Any, color: bool | None = None, stream: io.StringIO | None = None) -> str:
    stream = stream or io.StringIO()
    exporter = ConsoleSpanTreeExporter(stream, color=color)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    run(OpenTelemetryCallbackHandler(provider))
    provider.shutdown()
    return stream.getvalue()


def test_tree_exporter_prints_the_agent_trace() -> None:
    text = tree_output(lambda h: seed_executor().call({"input": "2^8?"}, callbacks=[h]))
    lines = text.splitlines()
    assert re.fullmatch(r"trace [0-9a-f]{32}", lines[0])
    assert re.match(r"└─ invoke_agent agent_executor  \d+(ms|\.\d\ds)  OK$", lines[1])
    assert lines[2] == "   · action 0: calculator(2^8)"
    assert lines[3] == "   · finish: 256"
    assert re.match(r"   ├─ llm_chain  \S+  OK$", lines[4])
    assert re.match(
        r"   │  └─ chat fake-chat  \S+  OK  model=fake-chat  tokens in=\d+ out=\d+  token events=\d+$",
        lines[5],
    )
    assert re.match(r"   ├─ execute_tool calculator  \S+  OK$", lines[6])
    assert lines[7] == "   │  · input: 2^8"
    assert lines[8] == "   │  · output: 256"
    assert re.match(r"   └─ llm_chain  \S+  OK$", lines[9])
    assert re.match(r"      └─ chat fake-chat  ", lines[10])
    assert len(lines) == 11 and "\x1b[" not in text


def test_tree_exporter_marks_errors_and_colours_on_terminal() -> None:
    def run(h: OpenTelemetryCallbackHandler) -> None:
        with pytest.raises(ValueError):
            Boom(ValueError("bad")).call({"x": 1}, callbacks=[h])

    assert "ERROR ValueError: bad" in tree_output(run)
    assert "\x1b[31mERROR ValueError: bad\x1b[0m" in tree_output(run, stream=Tty())


def test_tree_exporter_waits_for_the_root_and_flushes_orphans() -> None:
    stream = io.StringIO()
    exporter = ConsoleSpanTreeExporter(stream)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("request"):
        FakeListChatModel(["hi"]).call("x", callbacks=[OpenTelemetryCallbackHandler(provider)])
        assert stream.getvalue() == ""  # the trace is not finished yet
    assert "└─ request" in stream.getvalue() and "   └─ chat fake-chat" in stream.getvalue()
    stream.truncate(0)
    stream.seek(0)
    orphan = tracer.start_span("orphan child", context=None)
    from opentelemetry import trace

    child = tracer.start_span("child", context=trace.set_span_in_context(orphan))
    child.end()
    assert stream.getvalue() == ""
    provider.shutdown()  # flushes what is held
    assert "child" in stream.getvalue()
    orphan.end()

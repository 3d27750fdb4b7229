"""The console: verbose lines (from runs and from spans) and the span tree printed when a trace ends."""

from __future__ import annotations

import io
import logging
import os
import pty
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from rich.cells import cell_len

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.callbacks import ConsoleCallbackHandler, _runs
from otelchain.chains import LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.tools import Calculator, Tool
from otelchain.tracing import ConsoleSpanProcessor, ConsoleSpanTreeExporter, OpenTelemetryCallbackHandler
from otelchain.tracing._console.printer import console_width, use_color
from tests.helpers import CALC_STEP_1 as STEP_1
from tests.helpers import CALC_STEP_2 as STEP_2
from tests.helpers import Boom, FakeClock, seed_chain
from tests.helpers import calculator_executor as seed_executor

GOLDEN = Path(__file__).parent / "golden"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The runs' clock, advanced by hand (and 1 ms per reading, so every stamp is distinct)."""
    fake = FakeClock(start_ns=1_700_000_000_000_000_000, tick_ns=1_000_000)
    monkeypatch.setattr(_runs, "now_ns", fake)
    return fake


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)


class Ids(IdGenerator):
    """Span and trace ids 1, 2, 3...: golden output does not change between runs."""

    def __init__(self) -> None:
        self._span = iter(range(1, 1 << 30))
        self._trace = iter(range(0xABC0, 1 << 30))

    def generate_span_id(self) -> int:
        return next(self._span)

    def generate_trace_id(self) -> int:
        return next(self._trace)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def golden(name: str, text: str) -> None:
    """Compare with tests/tracing/golden/<name> (OTELCHAIN_UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / name
    if os.environ.get("OTELCHAIN_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def traced(
    run: Callable[[list[Any]], Any],
    *,
    verbose: bool = False,
    width: int = 100,
    color: bool | None = False,
    **tree_options: Any,
) -> tuple[str, str]:
    """(verbose log, span tree) of one run with both views attached, as a person sees them."""
    log, out = io.StringIO(), io.StringIO()
    exporter = ConsoleSpanTreeExporter(out, color=color, width=width, **tree_options)
    provider = TracerProvider(shutdown_on_exit=False, id_generator=Ids())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handlers: list[Any] = [OpenTelemetryCallbackHandler(provider)]
    if verbose:
        handlers.insert(0, ConsoleCallbackHandler(log, color=color, width=width))
    try:
        run(handlers)
    finally:
        provider.shutdown()
    return log.getvalue(), out.getvalue()


def ask_agent(handlers: list[Any]) -> None:
    seed_executor().call({"input": "What is 2 to the power of 8"}, callbacks=handlers)


# --- verbose lines ------------------------------------------------------------------------------

EXPECTED_SEED = """\
[chain/start] [1:chain:llm_chain] Entering Chain run with input:
{
  "number": 2
}
[llm/start] [1:chain:llm_chain > 2:llm:fake-list] Entering LLM run with input:
prompt 1 + 2 =
[llm/end] [1:chain:llm_chain > 2:llm:fake-list] [1.0ms] Exiting LLM run with output:
assistant  3

          3 - 1 = 2
tokens 4 in / 6 out · model fake-list · finish stop
[chain/end] [1:chain:llm_chain] [3.0ms] Exiting Chain run with output:
{
  "text": \"\"\"
     3

    3 - 1 = 2\"\"\"
}
"""


def test_verbose_seed_chain_golden(clock: FakeClock) -> None:
    """The seed's format, with prompts and outputs as real lines and the runs' own clock."""
    stream = io.StringIO()
    seed_chain().call({"number": 2}, callbacks=[ConsoleCallbackHandler(stream)])
    assert stream.getvalue() == EXPECTED_SEED


def test_verbose_agent_lines_name_runs_as_the_tree(clock: FakeClock) -> None:
    log, tree = traced(ask_agent, verbose=True)
    heads = re.findall(r"^\[(\w+/\w+)\] \[([^\]]*)\]", log, flags=re.M)
    assert heads == [
        ("chain/start", "1:chain:agent_executor"),
        ("chain/start", "1:chain:agent_executor > 2:chain:llm_chain"),
        ("llm/start", "1:chain:agent_executor > 2:chain:llm_chain > 3:llm:fake-chat"),
        ("llm/end", "1:chain:agent_executor > 2:chain:llm_chain > 3:llm:fake-chat"),
        ("chain/end", "1:chain:agent_executor > 2:chain:llm_chain"),
        ("agent/action", "1:chain:agent_executor"),
        ("tool/start", "1:chain:agent_executor > 4:tool:calculator"),
        ("tool/end", "1:chain:agent_executor > 4:tool:calculator"),
        ("chain/start", "1:chain:agent_executor > 5:chain:llm_chain"),
        ("llm/start", "1:chain:agent_executor > 5:chain:llm_chain > 6:llm:fake-chat"),
        ("llm/end", "1:chain:agent_executor > 5:chain:llm_chain > 6:llm:fake-chat"),
        ("chain/end", "1:chain:agent_executor > 5:chain:llm_chain"),
        ("agent/finish", "1:chain:agent_executor"),
        ("chain/end", "1:chain:agent_executor"),
    ]
    # No LangChain noise, real newlines, and the same durations as the tree (one clock).
    assert "null" not in log and "additional_kwargs" not in log and "\\n" not in log.replace('"\\nObs', "")
    assert "user Answer the following questions as best you can." in log
    verbose_took = dict(
        re.findall(r"^\[\w+/(?:end|error)\] \[(?:[^\]]* > )?([^\]>]*)\] \[([^\]]+)\]", log, re.M)
    )
    tree_took = dict(re.findall(r"── (\d+:\w+:[\w-]+)  (\S+)  (?:OK|UNSET|ERROR)", tree))
    assert set(tree_took) == set(verbose_took) and len(tree_took) == 6
    assert tree_took == verbose_took


def test_verbose_error_line(clock: FakeClock) -> None:
    stream = io.StringIO()
    with pytest.raises(ValueError):
        Boom(ValueError("bad input")).call({"x": 1}, callbacks=[ConsoleCallbackHandler(stream)])
    assert stream.getvalue().endswith(
        "[chain/error] [1:chain:boom] [1.0ms] Chain run errored with error:\nValueError: bad input\n"
    )


def test_verbose_console_is_not_a_tracer() -> None:
    handler = ConsoleCallbackHandler(io.StringIO())
    out = FakeListLLM(["x"]).call("hi", callbacks=[handler])
    assert out.run_info is not None and out.run_info.trace_id is None
    assert handler.runs == {}


def test_verbose_console_ignores_no_capture_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verbose mode is a local debugging view: it always shows inputs and outputs."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    stream = io.StringIO()
    FakeListLLM(["visible"]).call("hi", callbacks=[ConsoleCallbackHandler(stream)])
    assert "visible" in stream.getvalue()


def test_span_processor_prints_the_same_lines_from_spans(clock: FakeClock) -> None:
    """ConsoleSpanProcessor on any provider: the verbose lines rebuilt from the spans."""
    from_runs = io.StringIO()
    seed_chain().call({"number": 2}, callbacks=[ConsoleCallbackHandler(from_runs, color=False)])
    from_spans = io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(ConsoleSpanProcessor(from_spans, color=False))
    seed_chain().call({"number": 2}, callbacks=[OpenTelemetryCallbackHandler(provider)])
    provider.shutdown()
    heads = re.compile(r"^\[[^\n]*$", re.M)
    strip = re.compile(r" \[[0-9.]+m?s\]")
    assert [strip.sub("", h) for h in heads.findall(from_spans.getvalue())] == [
        strip.sub("", h) for h in heads.findall(from_runs.getvalue())
    ]
    assert "prompt 1 + 2 =" in from_spans.getvalue() and "tokens 4 in / 6 out" in from_spans.getvalue()


# --- colours ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, False, False),
        ({}, True, True),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # empty means unset
        ({"FORCE_COLOR": "1"}, False, True),  # piped, forced on
        ({"FORCE_COLOR": "0"}, True, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),  # the opt-out wins
        ({"TERM": "dumb"}, True, False),
        ({"TERM": "dumb", "FORCE_COLOR": "3"}, False, True),
    ],
)
def test_colour_conventions(
    env: dict[str, str], tty: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stream: io.StringIO = Tty() if tty else io.StringIO()
    assert use_color(stream) is expected
    FakeListLLM(["x"]).call("hi", callbacks=[ConsoleCallbackHandler(stream)])
    assert ("\x1b[" in stream.getvalue()) is expected
    assert use_color(stream, forced=not expected) is (not expected)


def test_force_color_when_piped_to_a_real_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    read, write = os.pipe()
    with os.fdopen(write, "w", encoding="utf-8") as pipe:
        assert not pipe.isatty()
        FakeListLLM(["x"]).call("hi", callbacks=[ConsoleCallbackHandler(pipe)])
        pipe.write("---\n")
        monkeypatch.setenv("FORCE_COLOR", "1")
        FakeListLLM(["x"]).call("hi", callbacks=[ConsoleCallbackHandler(pipe)])
    with os.fdopen(read, encoding="utf-8") as back:
        plain, coloured = back.read().split("---\n")
    assert "\x1b[" not in plain
    assert "\x1b[1;32m[llm/start]\x1b[0m" in coloured
    took = re.compile(r" \[[0-9.]+m?s\]")
    assert took.sub("", ANSI.sub("", coloured)) == took.sub("", plain)


# --- the tree -----------------------------------------------------------------------------------


def test_tree_golden_plain_and_coloured(clock: FakeClock) -> None:
    _, plain = traced(ask_agent)
    golden("agent_tree.txt", plain)
    _, coloured = traced(ask_agent, color=True)
    golden("agent_tree.ansi", coloured)
    assert ANSI.sub("", coloured) == plain
    assert "\x1b[1;31m" not in coloured and "\x1b[2mUNSET" in coloured


def test_tree_is_in_time_order_with_actions_as_children(clock: FakeClock) -> None:
    _, tree = traced(ask_agent)
    order = re.findall(r"── (\d:\w+:[\w-]+|action \d|finish)", tree)
    assert order == [
        "1:chain:agent_executor",
        "2:chain:llm_chain",
        "3:llm:fake-chat",
        "action 1",
        "4:tool:calculator",
        "5:chain:llm_chain",
        "6:llm:fake-chat",
        "finish",
    ]
    assert re.search(
        r"3:llm:fake-chat  2.0ms  UNSET  tokens 124 in / 16 out · streamed 16 · first token 1.0ms", tree
    )
    assert "totals 13ms wall · 6 spans · 0 errors · tokens 260 in / 24 out · streamed 24" in tree
    assert "models fake-chat 2 calls, 260 in / 24 out" in tree


def test_a_35_second_run_prints_as_one_tree(clock: FakeClock) -> None:
    """Children end and are exported long before the root: the tree waits for the root."""

    class SlowCalculator(Calculator):
        def _run(self, *args: Any, **kwargs: Any) -> Any:
            clock.advance(17.5)
            return super()._run(*args, **kwargs)

    def run(handlers: list[Any]) -> None:
        tools = [SlowCalculator()]
        model = FakeListChatModel([STEP_1, STEP_1, STEP_2], streaming=True)
        chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
        agent = ZeroShotAgent(llm_chain=chain, allowed_tools=["calculator"])
        AgentExecutor.from_agent_and_tools(agent=agent, tools=tools).call(
            {"input": "2^8?"}, callbacks=handlers
        )

    _, tree = traced(run, collapse_after=5)
    note, tree = tree.split("\n", 1)
    # One live note once the open trace passes 30 s of its own time, then the whole tree.
    assert re.fullmatch(
        r"… trace 0{28}abc0 running 35\.\d\ds: 6 spans finished, last tool:calculator",
        note,
    )
    assert tree.count("trace ") == 1 and tree.startswith("trace ")
    assert re.search(r"^└── 1:chain:agent_executor  35\.\d\ds  UNSET$", tree, re.M)
    assert tree.count(":tool:calculator  17.50s  UNSET") == 2
    assert "incomplete" not in tree


def test_a_tree_through_the_batch_processor_is_whole(clock: FakeClock) -> None:
    out = io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(
        BatchSpanProcessor(ConsoleSpanTreeExporter(out, color=False), max_export_batch_size=2)
    )
    ask_agent([OpenTelemetryCallbackHandler(provider)])
    provider.force_flush()
    provider.shutdown()
    assert out.getvalue().count("trace ") == 1 and out.getvalue().count(":llm:") == 2


def test_ten_thousand_streamed_tokens(clock: FakeClock) -> None:
    tokens = [f"w{i} " for i in range(10_000)]
    _, tree = traced(lambda h: FakeListChatModel([tokens], streaming=True).call("go", callbacks=h))
    head = next(line for line in tree.splitlines() if ":llm:" in line)
    assert re.search(r"tokens \d in / 10,000 out · streamed 10,000 · first token 1.0ms$", head)
    assert "more characters" in tree  # the 60,000-character answer is cut, visibly
    assert len(tree.splitlines()) < 20


def test_failing_tool(clock: FakeClock) -> None:
    def divide(text: str) -> str:
        raise ZeroDivisionError("division by zero in " + text)

    def run(handlers: list[Any]) -> None:
        tools = [Tool(name="calculator", func=divide, description="divides")]
        model = FakeListChatModel([STEP_1], streaming=True)
        chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
        agent = ZeroShotAgent(llm_chain=chain, allowed_tools=["calculator"])
        with pytest.raises(ZeroDivisionError):
            AgentExecutor.from_agent_and_tools(agent=agent, tools=tools).call(
                {"input": "1/0"}, callbacks=handlers
            )

    log, tree = traced(run, verbose=True)
    assert re.search(
        r"── 4:tool:calculator  \S+  ERROR\n.*input.*\n.*error +ZeroDivisionError: division by zero in 2\^8",
        tree,
    )
    assert re.search(r"── 1:chain:agent_executor  \S+  ERROR", tree)
    assert "2 errors" in tree
    assert "[tool/error] [1:chain:agent_executor > 4:tool:calculator]" in log
    assert "ZeroDivisionError: division by zero in 2^8" in log


@pytest.mark.parametrize("width", [40, 60, 100])
def test_fitted_to_the_width(width: int, clock: FakeClock) -> None:
    log, tree = traced(ask_agent, verbose=True, width=width)
    for line in (log + tree).splitlines():
        assert cell_len(line) <= width, line


def test_width_from_columns_and_the_terminal(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    stream = io.StringIO()
    ask_agent([ConsoleCallbackHandler(stream)])
    assert max(cell_len(line) for line in stream.getvalue().splitlines()) <= 50
    monkeypatch.delenv("COLUMNS")
    stream = io.StringIO()
    ask_agent([ConsoleCallbackHandler(stream)])
    assert max(cell_len(line) for line in stream.getvalue().splitlines()) > 100  # not a terminal: no wrap


def test_off_a_terminal_lines_are_never_wrapped(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    """Piped or in a file, a header line stays one line whatever its length, so grep finds it
    (it was hard-wrapped at 120 columns)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    name = "nightly_report_" + "x" * 150
    log, tree = io.StringIO(), io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(tree, color=False)))
    chain = LLMChain(llm=FakeListLLM([" 3"]), prompt=PromptTemplate.from_template("1 + {n} ="))
    chain.call({"n": 2}, [ConsoleCallbackHandler(log), OpenTelemetryCallbackHandler(provider)], run_name=name)
    provider.shutdown()
    lines = log.getvalue().splitlines()
    assert f"[chain/start] [1:chain:{name}] Entering Chain run with input:" in lines
    assert f"[llm/start] [1:chain:{name} > 2:llm:fake-list] Entering LLM run with input:" in lines
    assert any(line.startswith(f"└── 1:chain:{name}  ") for line in tree.getvalue().splitlines())


def test_a_terminal_that_reports_no_width_gets_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new pseudo-terminal reports 0x0 (as some CI runners and containers do): rich's fallback
    of 80 columns, not a 20-column tree."""
    monkeypatch.delenv("COLUMNS", raising=False)
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", encoding="utf-8", closefd=False) as tty:
            assert tty.isatty() and os.get_terminal_size(follower).columns == 0
            assert console_width(tty) == 80
    finally:
        os.close(leader)
        os.close(follower)


def test_huge_trace_is_bounded_and_collapsed(clock: FakeClock) -> None:
    def add_one(text: str) -> str:
        if text == "fail":
            raise ValueError("cannot add one to 'fail'")
        return str(int(text) + 1)

    def run(handlers: list[Any]) -> None:
        calc = Tool(name="calculator", func=add_one, description="adds one")
        chain = LLMChain(llm=FakeListLLM(["ok"]), prompt=PromptTemplate.from_template("{q}"))
        from otelchain.callbacks import CallbackManager

        manager = CallbackManager.configure(handlers, None)
        root = manager.on_chain_start({"name": "batch"}, {"n": 300})
        for i in range(300):
            if i == 150:
                with pytest.raises(ValueError):
                    calc.run("fail", callbacks=root.get_child())
            calc.run(str(i), callbacks=root.get_child())
        chain.call({"q": "done"}, callbacks=root.get_child())
        root.on_chain_end({"ok": True})

    _, tree = traced(run, max_spans=50)
    lines = tree.splitlines()
    assert len(lines) < 60 and tree.count("146 more calculator runs like these") == 2
    assert re.search(r"… 146 more calculator runs like these, all OK: \S+ in all", tree)
    assert re.search(r"── 152:tool:calculator  \S+  ERROR", tree)  # the failing one is never collapsed
    assert "totals" in tree and "304 spans" in tree and "1 error" in tree


def test_max_spans_marker(clock: FakeClock) -> None:
    def run(handlers: list[Any]) -> None:
        from otelchain.callbacks import CallbackManager

        root = CallbackManager.configure(handlers, None).on_chain_start({"name": "fan"}, {})
        for i in range(30):
            FakeListLLM([f"answer {i}"]).call(
                f"question {i}", callbacks=root.get_child(), run_name=f"model{i}"
            )
        root.on_chain_end({})

    _, tree = traced(run, max_spans=10, collapse_after=100)
    assert "… 21 more spans not shown (max_spans=10)" in tree
    assert "31 spans" in tree


def test_tree_waits_for_the_root_and_prints_incomplete_traces_at_shutdown() -> None:
    stream = io.StringIO()
    exporter = ConsoleSpanTreeExporter(stream, color=False)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("request"):
        FakeListChatModel(["hi"]).call("x", callbacks=[OpenTelemetryCallbackHandler(provider)])
        assert stream.getvalue() == "" and exporter.pending_spans == 1
    assert "└── request" in stream.getvalue() and "└── 1:llm:fake-chat" in stream.getvalue()
    stream.truncate(0)
    stream.seek(0)
    from opentelemetry import trace

    never_ends = tracer.start_span("never ends")
    tracer.start_span("child", context=trace.set_span_in_context(never_ends)).end()
    provider.force_flush()
    assert stream.getvalue() == ""  # not split early
    provider.shutdown()
    assert "(incomplete: its root span had not ended at shutdown)" in stream.getvalue()
    assert "└── child" in stream.getvalue()


# --- issue 11, break 8: a lone surrogate never loses a line -----------------------------------


def test_lone_surrogate_is_printed_not_dropped(clock: FakeClock) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    bad = "half an emoji \ud83d here"
    exporter = ConsoleSpanTreeExporter(stream, color=False)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    FakeListLLM([bad]).call(
        bad, callbacks=[ConsoleCallbackHandler(stream), OpenTelemetryCallbackHandler(provider)]
    )
    provider.shutdown()
    out = raw.getvalue().decode("utf-8")
    assert out.count("half an emoji \\ud83d here") >= 2, out  # the verbose llm start and end
    # spans carry valid text (issue 11: a lone surrogate sank the exporter's batch): U+FFFD
    assert out.count("half an emoji \ufffd here") >= 2, out  # the tree's input and output
    assert "[llm/start]" in out and "[llm/end]" in out and "trace " in out


def test_output_failures_are_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    handler = ConsoleCallbackHandler(Broken())
    with caplog.at_level(logging.WARNING, logger="otelchain.tracing"):
        for _ in range(5):
            FakeListLLM(["x"]).call("hi", callbacks=[handler])
    assert handler.printer.failures == 10
    assert [r.getMessage() for r in caplog.records] == [
        "otelchain console: output failed (1 so far): OSError: disk full",
        "otelchain console: output failed (10 so far): OSError: disk full",
    ]


def test_an_ascii_stream_gets_escapes_and_ascii_guides(clock: FakeClock) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", write_through=True)
    _run_tree(stream, lambda h: FakeListLLM(["café ☕"]).call("naïve", callbacks=h))
    out = raw.getvalue().decode("ascii")
    assert "caf\\xe9 \\u2615" in out and "`-- 1:llm:fake-list" in out


def _run_tree(stream: Any, run: Callable[[list[Any]], Any]) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(stream, color=False)))
    run([OpenTelemetryCallbackHandler(provider)])
    provider.shutdown()


def test_spans_beyond_max_held_are_counted_not_held(clock: FakeClock) -> None:
    def run(handlers: list[Any]) -> None:
        from otelchain.callbacks import CallbackManager

        root = CallbackManager.configure(handlers, None).on_chain_start({"name": "fan"}, {})
        for i in range(20):
            FakeListLLM([f"answer {i}"]).call(f"question {i}", callbacks=root.get_child())
        root.on_chain_end({})

    _, tree = traced(run, max_held_spans=5)
    assert "… 15 more spans not held (max_held_spans=5); counted in the totals" in tree
    assert "21 spans · 0 errors · tokens 40 in / 40 out" in tree  # the unheld ones still count


def test_a_very_deep_trace_prints_bounded() -> None:
    stream = io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(stream, color=False, width=80)))
    tracer = provider.get_tracer("t")
    from opentelemetry import trace

    spans = [tracer.start_span("level 0")]
    for depth in range(1, 2000):
        spans.append(tracer.start_span(f"level {depth}", context=trace.set_span_in_context(spans[-1])))
    for span in reversed(spans):
        span.end()
    provider.shutdown()
    out = stream.getvalue()
    assert "└── level 11  " in out and "level 12 " not in out  # (80 columns - 36) / 4 levels
    assert "└── … 1,988 deeper spans\n" in out and "2,000 spans" in out
    assert max(cell_len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_spans": -1}, ValueError, "max_spans must be at least 1, got -1"),
        ({"max_spans": "x"}, TypeError, "max_spans must be an int .*str"),
        ({"max_held_spans": 0}, ValueError, "max_held_spans must be at least 1"),
        ({"max_value_lines": 0}, ValueError, "max_value_lines must be at least 1"),
        ({"collapse_after": 2.5}, TypeError, "collapse_after must be an int"),
        ({"color": "yes"}, TypeError, "color must be True, False or None, got 'yes'"),
        ({"width": "80"}, TypeError, "width must be an int .*str"),
        ({"width": 0}, ValueError, "width must be at least 1"),
        ({"show_content": "no"}, TypeError, "show_content must be True or False, got 'no'"),
        ({"progress_every": -1}, ValueError, "progress_every must be a number of seconds >= 0 .*None"),
        ({"progress_every": "30"}, TypeError, "progress_every must be a number of seconds >= 0 .*None"),
    ],
)
def test_a_bad_tree_option_raises_one_clear_error_naming_it(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ConsoleSpanTreeExporter(io.StringIO(), **options)

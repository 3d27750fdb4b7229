"""The console views for LangChain apps: verbose mode (OTELCHAIN_VERBOSE, set_verbose) prints
langchain-core runs once instrumented; LangGraph agents print their actions and are agents in the
tree; the tree shows each span's own status and says what its time line sums; cost totals."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otelchain.callbacks import set_verbose
from otelchain.tracing import ConsoleSpanTreeExporter, instrument, uninstrument
from tests._servers.openai_server import Reply, ToolCallReply
from tests.helpers import LC, Traced
from tests.helpers import scenarios as S


@pytest.fixture
def verbose(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OTELCHAIN_VERBOSE", "true")
    set_verbose(None)  # re-read the environment
    yield
    monkeypatch.delenv("OTELCHAIN_VERBOSE")
    set_verbose(None)


def _chain() -> object:
    return ChatPromptTemplate.from_messages([("user", "{q}")]) | FakeListChatModel(responses=["four"])


def test_verbose_mode_prints_langchain_runs_once_instrumented(
    lg: Traced, verbose: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _chain().invoke({"q": "2+2?"})  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "[chain/start] [1:chain:RunnableSequence] Entering Chain run with input:" in out
    assert "[llm/end] [1:chain:RunnableSequence > 3:llm:FakeListChatModel]" in out
    for tag in ("[chain/end]", "[prompt/end]", "[llm/end]"):  # once per run: the handler is added once
        assert out.count(tag) == 1, out


def test_verbose_mode_stays_off_for_langchain_without_instrument(
    verbose: None, capsys: pytest.CaptureFixture[str]
) -> None:
    uninstrument()
    _chain().invoke({"q": "2+2?"})  # type: ignore[attr-defined]
    assert capsys.readouterr().out == ""


def test_set_verbose_off_stops_the_lines(lg: Traced, capsys: pytest.CaptureFixture[str]) -> None:
    set_verbose(True)
    try:
        _chain().invoke({"q": "a"})  # type: ignore[attr-defined]
        assert "[chain/start]" in capsys.readouterr().out
    finally:
        set_verbose(False)
    _chain().invoke({"q": "b"})  # type: ignore[attr-defined]
    assert capsys.readouterr().out == ""
    set_verbose(None)


def test_langgraph_agent_prints_actions_and_is_an_agent_in_the_tree(
    lc: LC, verbose: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from langchain.agents import create_agent

    out = io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(out, color=False, width=200)))
    instrument(provider)
    lc.server.add(
        Reply(
            tool_calls=[ToolCallReply("add", {"a": 2, "b": 3}), ToolCallReply("multiply", {"a": 5, "b": 4})]
        ),
        Reply("The answer is 20."),
    )
    agent = create_agent(lc.chat(), [S.add, S.multiply], name="calculator")
    agent.invoke({"messages": [("user", "(2+3)*4?")]})
    provider.shutdown()
    log = capsys.readouterr().out
    actions = re.findall(
        r"\[agent/action\] \[1:agent:calculator\] Agent selected action:\n(.*?)\n(?=\[)", log, re.S
    )
    assert len(actions) == 2, log
    assert '"tool": "add"' in actions[0] and '"tool": "multiply"' in actions[1]
    assert "[chain/start] [1:agent:calculator] Entering Chain run" in log
    tree = out.getvalue()
    assert re.search(r"^└── 1:agent:calculator  \S+  UNSET$", tree, re.M), tree
    assert re.search(r"summed per kind: .*agent 1x", tree), tree


def test_tree_totals_cost_per_trace_and_per_model(lc: LC) -> None:
    if sys.version_info < (3, 11):
        pytest.skip("genai-prices needs Python 3.11+")
    out = io.StringIO()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanTreeExporter(out, color=False, width=200)))
    instrument(provider)
    lc.server.add(Reply("one", model="gpt-4o-mini-2024-07-18"), Reply("two"))  # the 2nd: unknown model
    priced, unknown = lc.chat(model="gpt-4o-mini"), lc.chat()
    both = ChatPromptTemplate.from_messages([("user", "{q}")]) | priced | (lambda m: m.content) | unknown
    both.invoke({"q": "go"})
    provider.shutdown()
    tree = out.getvalue()
    amount = re.search(r"^totals .* · cost \$(\S+) \(1 of 2 calls priced\)$", tree, re.M)
    assert amount is not None, tree
    assert float(amount[1]) > 0
    assert re.search(rf"gpt-4o-mini-2024-07-18 1 call, \d+ in / \d+ out, cost \${re.escape(amount[1])}", tree)
    assert re.search(r"test-model-0001 1 call, \d+ in / \d+ out(?! , cost)", tree)

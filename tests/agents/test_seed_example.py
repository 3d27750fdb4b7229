"""The seed's last example (examples/agent_callbacks.py) prints what the seed prints."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import SEED_STEP_1, SEED_STEP_2, Recorder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "agent_callbacks.py"
MODEL = "fake-list-chat-model"  # the scripted model's name (the seed's ChatOpenAI prints 'openai')

LOG = "I can use the calculator tool to solve this.\nAction: calculator\nAction Input: 2^8"


def llm_step() -> list[str]:
    return [
        "handleChainStart {'chain': {'name': 'llm_chain'}}",
        "handleChainStart: I'm the second handler!! {'chain': {'name': 'llm_chain'}}",
        f"handleLLMStart {{'llm': {{'name': '{MODEL}'}}}}",
        f"handleLLMStart: I'm the second handler!! {{'llm': {{'name': '{MODEL}'}}}}",
    ]


def tokens(step: list[str]) -> list[str]:
    return [f"token {{'token': {t!r}}}" for t in step]


EXPECTED = [
    "handleChainStart {'chain': {'name': 'agent_executor'}}",
    *llm_step(),
    *tokens(SEED_STEP_1),
    f"handleAgentAction AgentAction(tool='calculator', tool_input='2^8', log={LOG!r})",
    "handleToolStart {'tool': {'name': 'calculator'}}",
    *llm_step(),
    *tokens(SEED_STEP_2),
    "{'output': '256'}",
]

RUN_ID_LINE = re.compile(r"^\{'runId': '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'\}$")


def check_output(out: str) -> None:
    lines = out.rstrip("\n").split("\n")  # dict reprs escape newlines: one print, one line
    assert lines[:-1] == EXPECTED
    assert RUN_ID_LINE.match(lines[-1]), lines[-1]
    # handler2 (constructor callbacks on the chain and the model) never sees the executor, the
    # agent's actions or the tool: each of those lines is printed once, by handler1.
    assert sum(line.startswith("handleAgentAction") for line in lines) == 1
    assert sum(line.startswith("handleToolStart") for line in lines) == 1
    assert not any("second handler" in line and "agent_executor" in line for line in lines)
    # Tokens are printed by handler1 only (handler2 has no token method).
    assert sum(line.startswith("token ") for line in lines) == len(SEED_STEP_1) + len(SEED_STEP_2)


def test_example_as_a_script() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env.pop("OTELCHAIN_VERBOSE", None)
    env.pop("LANGCHAIN_VERBOSE", None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    check_output(proc.stdout)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("agent_callbacks_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_imported(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    module = load_example()
    result = module.run()
    assert dict(result) == {"output": "256"}
    check_output(capsys.readouterr().out)


def test_handler2_scope_with_every_event(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Swap the example's handler2 for one that records every event: it sees only the chain's
    and the model's own runs, never the executor, the agent's actions or the tool."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    module = load_example()
    spy = Recorder()
    monkeypatch.setattr(module, "make_handler2", lambda: spy)
    assert dict(module.run()) == {"output": "256"}
    capsys.readouterr()
    seen = [
        f"{e.event}:{e.name}" if e.event in ("on_chain_start", "on_chat_model_start") else e.event
        for e in spy.events
    ]
    assert seen.count("on_chain_start:llm_chain") == 2
    assert seen.count("on_chat_model_start:" + MODEL) == 2
    assert seen.count("on_llm_new_token") == len(SEED_STEP_1) + len(SEED_STEP_2)
    assert not [s for s in seen if "agent" in s or "tool" in s]


def test_example_on_chat_openai_over_http(
    openai_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OPENAI_API_KEY set the example runs on ChatOpenAI (real client, real HTTP to the
    test server on 127.0.0.1 streaming the seed's tokens) and prints the seed's lines exactly,
    including the model's name, 'openai'."""
    from tests._servers.openai_server import Reply

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.add(Reply(content=SEED_STEP_1), Reply(content=SEED_STEP_2))
    module = load_example()
    assert dict(module.run()) == {"output": "256"}
    out = capsys.readouterr().out
    # ChatOpenAI reports only non-empty content deltas as tokens (the seed's JS client also
    # printed the empty role/finish chunks as ''), so compare without the empty tokens.
    empty = "token {'token': ''}"
    seed_lines = [line.replace(MODEL, "openai") for line in EXPECTED if line != empty]
    lines = out.rstrip("\n").split("\n")
    assert lines[:-1] == seed_lines
    assert RUN_ID_LINE.match(lines[-1])
    assert "sk-test" not in out
    first, second = (r.body for r in openai_server.requests)
    for body in (first, second):
        assert body["stream"] is True
        assert body["temperature"] == 0
        assert body["stop"] == ["\nObservation:"]
    assert second["messages"][0]["content"].endswith("Action Input: 2^8\nObservation: 256\nThought:")

"""The core examples run as a user would run them and print what the seed shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(name: str, **env: str) -> str:
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTELCHAIN_", "LANGCHAIN_", "OPENAI_"))
    }
    full_env.update(env)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_builtin_handler() -> None:
    out = _run("builtin_handler.py")
    assert "[chain/start] [1:chain:llm_chain] Entering Chain run with input:" in out
    assert "[llm/end] [1:chain:llm_chain > 2:llm:fake-list]" in out
    assert "{'text': ' 3\\n\\n3 - 1 = 2'}" in out
    assert re.search(r"RunInfo\(run_id=UUID\('[0-9a-f-]{36}'\)", out)


def test_constructor_vs_request() -> None:
    out = _run("constructor_vs_request.py")
    sections = out.split("-- ")
    assert "[constructor] chain start: llm_chain" in sections[1]
    assert "llm start" not in sections[1]
    assert "[request] chain start" in sections[2] and "[request] llm start: ['1 + 2 =']" in sections[2]
    assert "[request] llm start: ['1 + 1 =']" in sections[3]


def test_verbose_mode() -> None:
    out = _run("verbose_mode.py")
    heads = re.findall(r"^\[(\w+/\w+)\]", out, flags=re.M)
    assert heads == ["chain/start", "llm/start", "llm/end", "chain/end"]


def test_env_verbose_on_a_quiet_example() -> None:
    out = _run("constructor_vs_request.py", OTELCHAIN_VERBOSE="true")
    assert "[chain/start]" in out and "[llm/start]" in out


def test_demo_shows_verbose_lines_the_span_tree_and_the_result() -> None:
    out = _run("demo.py")
    assert re.search(r"^\[chain/start\] \[1:chain:agent_executor\] Entering Chain run", out, flags=re.M)
    assert "> 2:chain:llm_chain > 3:llm:" in out
    assert "[tool/start]" in out and "[agent/action]" in out
    assert "└── 1:chain:agent_executor" in out and "action 1  calculator" in out
    assert re.search(r"── 4:tool:calculator  \S+  UNSET\n.*input  \"2\^8\"\n.*output \"256\"", out)
    assert re.search(r"^totals .* · 6 spans · 0 errors · tokens 264 in / 34 out · streamed 30$", out, re.M)
    assert "result: {'output': '256'}" in out
    assert re.search(r"trace_id=[0-9a-f]{32} span_id=[0-9a-f]{16}", out)

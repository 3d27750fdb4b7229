"""examples/langchain_app.py runs as documented and prints the trees the README shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_langchain_app_example_prints_nested_trees() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "LANGCHAIN_", "OPENAI_"))}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "langchain_app.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env | {"PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "chain: Bonjour" in out and "agent: It is sunny in Paris" in out
    assert out.count("\ntrace ") + out.startswith("trace ") == 2  # two traces, one tree each
    lines = out.splitlines()
    agent = next(i for i, line in enumerate(lines) if "── 1:agent:weather_assistant  " in line)
    tool = next(i for i, line in enumerate(lines) if ":tool:weather  " in line)
    http = next(i for i, line in enumerate(lines) if line.lstrip(" │├└─").startswith("GET "))
    assert agent < tool < http
    indent = lines[tool].index(":tool:weather")
    assert lines[http].index("GET") > indent  # the HTTP call nests under the tool
    assert "action 1  weather" in out
    assert '"sunny"' in lines[tool + 2]  # the tool output is the service's answer, not a message dump
    assert "console: a trace could not be printed" not in proc.stderr

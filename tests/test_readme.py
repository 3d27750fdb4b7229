"""The README runs as written: every ```python block is executed in a fresh interpreter, as a user
pasting it into a file would run it.

Marker convention (an HTML comment on the line before the fence):
- none: the block runs with no key and no server (no OTEL_*/OPENAI_* variables set);
- ``<!-- readme-test: servers -->``: it runs with ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` pointing at
  the OpenAI-compatible test server and ``OTEL_EXPORTER_OTLP_ENDPOINT`` at a loopback OTLP backend,
  both on 127.0.0.1; the block must reach the server (and the backend, when it configures tracing);
- ``<!-- readme-test: skip REASON -->``: not run (a reason is required).
Any other marker fails, so a new block can never be skipped by accident.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._servers.openai_server import OpenAIServer
from tests._servers.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"<!--\s*readme-test:\s*(?P<kind>[\w-]+)\s*(?P<reason>.*?)\s*-->")
KINDS = ("run", "servers", "skip")


@dataclass
class Block:
    line: int
    code: str
    kind: str
    reason: str


def python_blocks(text: str) -> list[Block]:
    """Every ```python block with its start line and marker."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            previous = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            marker = MARKER.search(previous)
            kind, reason = (marker.group("kind"), marker.group("reason")) if marker else ("run", "")
            blocks.append(Block(start + 1, "\n".join(lines[start + 1 : j]) + "\n", kind, reason))
            i = j
        i += 1
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_the_readme_has_blocks_and_only_known_markers() -> None:
    assert len(BLOCKS) >= 5
    for block in BLOCKS:
        assert block.kind in KINDS, f"README.md:{block.line}: unknown marker {block.kind!r}"
        if block.kind == "skip":
            assert block.reason, f"README.md:{block.line}: a skipped block needs a reason"
    text = README.read_text(encoding="utf-8")
    assert len(MARKER.findall(text)) == sum(b.kind != "run" for b in BLOCKS), "a marker not before a block"


def run_block(block: Block, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL", "OPENAI_", "LANGCHAIN_", "OTELCHAIN_"))
    }
    script = tmp_path / f"readme_line_{block.line}.py"
    script.write_text(block.code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean | {"PYTHONUNBUFFERED": "1"} | env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, f"README.md:{block.line} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, f"README.md:{block.line}:\n{proc.stderr}"
    return proc


@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b.line}-{b.kind}" for b in BLOCKS])
def test_block_runs_as_written(block: Block, tmp_path: Path, openai_server: OpenAIServer) -> None:
    if block.kind == "skip":
        pytest.skip(f"README.md:{block.line}: {block.reason}")
    if block.kind == "run":
        run_block(block, tmp_path)
        return
    with OtlpReceiver() as backend:
        run_block(
            block,
            tmp_path,
            OPENAI_API_KEY="sk-readme-test-key",
            OPENAI_BASE_URL=openai_server.base_url,
            OTEL_EXPORTER_OTLP_ENDPOINT=backend.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        )
        if "configure(" in block.code or "instrument(" in block.code:
            assert backend.wait_for(1), f"README.md:{block.line}: no span reached the backend"
    uses_openai = "OpenAI" in block.code
    assert not uses_openai or openai_server.requests, f"README.md:{block.line}: the model was not called"


def test_quickstart_outputs_are_what_the_comments_say(tmp_path: Path) -> None:
    quickstart = next(b for b in BLOCKS if "class MyHandler" in b.code)
    out = run_block(quickstart, tmp_path).stdout
    assert re.search(r"RunInfo\(run_id=UUID\('[0-9a-f-]{36}'\), trace_id=None, span_id=None\)", out)
    assert "LLM start: ['1 + 3 =']" in out and "chain end: {'text': ' 4'}" in out
    assert " Why\n did\n the\n span\n cross\n the\n road?" in out  # the one-off print handler streams
    assert "['Another one.']" in out  # from_methods
    assert "[chain/start] [1:chain:llm_chain] Entering Chain run" in out


def test_spans_quickstart_prints_one_tree_with_the_trace_id(tmp_path: Path) -> None:
    spans = next(b for b in BLOCKS if "instrument(provider)" in b.code)
    out = run_block(spans, tmp_path).stdout
    trace_id = out.splitlines()[0].strip()
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    assert out.count(f"trace {trace_id}") == 1 and out.count("└── 1:chain:llm_chain") == 1

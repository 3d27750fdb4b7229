"""The README and the docs pages run as written: every ```python block of README.md and docs/*.md
is executed in a fresh interpreter, as a user pasting it into a file would run it. The README stays
short enough to read in a few minutes (under 300 lines), with no term a reader cannot know.

Marker convention (an HTML comment on the line before the fence):
- none: the block runs with no key and no server (no OTEL_*/OPENAI_* variables set);
- ``<!-- readme-test: servers -->``: it runs with ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` pointing at
  the OpenAI-compatible test server and ``OTEL_EXPORTER_OTLP_ENDPOINT`` at a loopback OTLP backend,
  both on 127.0.0.1; the block must reach the server (and the backend, when it configures tracing);
- ``<!-- readme-test: skip REASON -->``: not run (a reason is required).
Any other marker fails, so a new block can never be skipped by accident.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._servers.openai_server import OpenAIServer
from tests._servers.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!--\s*readme-test:\s*(?P<kind>[\w-]+)\s*(?P<reason>.*?)\s*-->")
KINDS = ("run", "servers", "skip")


@dataclass
class Block:
    line: int
    code: str
    kind: str
    reason: str
    page: str = "README.md"

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def python_blocks(text: str, page: str = "README.md") -> list[Block]:
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
            blocks.append(Block(start + 1, "\n".join(lines[start + 1 : j]) + "\n", kind, reason, page))
            i = j
        i += 1
    return blocks


BLOCKS = [
    block
    for page in PAGES
    for block in python_blocks(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))
]
README_BLOCKS = [b for b in BLOCKS if b.page == "README.md"]


def test_the_pages_have_blocks_and_only_known_markers() -> None:
    assert len(README_BLOCKS) >= 3 and len(BLOCKS) >= 6
    for block in BLOCKS:
        assert block.kind in KINDS, f"{block.where}: unknown marker {block.kind!r}"
        if block.kind == "skip":
            assert block.reason, f"{block.where}: a skipped block needs a reason"
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        blocks = [b for b in BLOCKS if b.page == str(page.relative_to(ROOT))]
        assert len(MARKER.findall(text)) == sum(b.kind != "run" for b in blocks), (
            f"{page}: a marker not before a block"
        )


def test_the_readme_reads_in_minutes() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300
    for page in PAGES:  # words only this project's developers know
        words = re.findall(r"\bthe seed\b|\bseed's\b|\bissue \d+", page.read_text(encoding="utf-8"), re.I)
        assert not words, f"{page.name}: {words}"


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
    assert proc.returncode == 0, f"{block.where} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, f"{block.where}:\n{proc.stderr}"
    return proc


@contextmanager
def _run_against_servers(block: Block, tmp_path: Path, openai_server: OpenAIServer) -> Iterator[OtlpReceiver]:
    """Run a block with the loopback OpenAI-compatible server and an OTLP receiver it exports to."""
    with OtlpReceiver() as backend:
        run_block(
            block,
            tmp_path,
            OPENAI_API_KEY="sk-readme-test-key",
            OPENAI_BASE_URL=openai_server.base_url,
            OTEL_EXPORTER_OTLP_ENDPOINT=backend.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        )
        yield backend


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.page}:{b.line}-{b.kind}" for b in BLOCKS])
def test_block_runs_as_written(block: Block, tmp_path: Path, openai_server: OpenAIServer) -> None:
    if block.kind == "skip":
        pytest.skip(f"{block.where}: {block.reason}")
    if block.kind == "run":
        run_block(block, tmp_path)
    else:
        with _run_against_servers(block, tmp_path, openai_server) as backend:
            if "configure(" in block.code or "instrument(" in block.code:
                assert backend.wait_for(1), f"{block.where}: no span reached the backend"
        uses_openai = "OpenAI" in block.code
        assert not uses_openai or openai_server.requests, f"{block.where}: the model was not called"
    # A reader runs the block in their project's folder: it leaves no file there.
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != f"readme_line_{block.line}.py")
    assert not left, f"{block.where} left files in the folder it ran in: {left}"


def test_quickstart_outputs_are_what_the_comments_say(tmp_path: Path) -> None:
    quickstart = next(b for b in README_BLOCKS if "class MyHandler" in b.code)
    out = run_block(quickstart, tmp_path).stdout
    assert re.search(r"RunInfo\(run_id=UUID\('[0-9a-f-]{36}'\), trace_id=None, span_id=None\)", out)
    assert "LLM start: ['1 + 3 =']" in out and "chain end: {'text': ' 4'}" in out
    assert " Why\n did\n the\n span\n cross\n the\n road?" in out  # the one-off print handler streams
    assert "['Another one.']" in out  # from_methods
    assert "[chain/start] [1:chain:llm_chain] Entering Chain run" in out


def test_spans_quickstart_prints_one_tree_with_the_trace_id(tmp_path: Path) -> None:
    spans = next(b for b in README_BLOCKS if "instrument(provider)" in b.code)
    out = run_block(spans, tmp_path).stdout
    trace_id = out.splitlines()[0].strip()
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    assert out.count(f"trace {trace_id}") == 1 and out.count("└── 1:chain:llm_chain") == 1


def test_langchain_quickstart_gives_the_spans_it_names(tmp_path: Path, openai_server: OpenAIServer) -> None:
    block = next(b for b in README_BLOCKS if "create_agent" in b.code)
    with _run_against_servers(block, tmp_path, openai_server) as backend:
        names = {s.name for s in backend.wait_for(2)}
    assert {"invoke_agent forecaster", "chat gpt-4o-mini"} <= names, names


def _test_command_sandbox(tmp_path: Path) -> Path:
    """A copy of the repository's scripts where every step only says it ran: the preparation scripts,
    the linters and pytest (``.venv`` is a stand-in already up to date), so scripts/test.sh's choices
    can be read without installing or building anything. build_backends.sh is the real one."""
    repo = tmp_path / "repo"
    for name in ("scripts/test.sh", "scripts/_venv.sh", "scripts/build_backends.sh", "pyproject.toml",
                 "deploy/otelcol-builder.yaml", "deploy/jaeger/go.mod", "deploy/jaeger/go.sum"):  # fmt: skip
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes((ROOT / name).read_bytes())
    stubs = {
        "scripts/setup_phoenix.sh": "echo STEP phoenix",
        "scripts/setup_openai2.sh": "echo STEP openai2",
        ".venv/bin/ruff": "echo STEP ruff",
        ".venv/bin/mypy": "echo STEP mypy",
        ".venv/bin/python": 'echo "STEP $*"',
    }
    for name, line in stubs.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(f"#!/usr/bin/env bash\n{line}\n")
        (repo / name).chmod(0o755)
    digest = hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()
    (repo / ".venv" / ".otelchain-installed").write_text(f"{digest}-test,dev\n")
    for folder in ("tests/callbacks", "tests/export", "tests/integrations"):
        (repo / folder).mkdir(parents=True)
    for name in ("tests/export/test_collector.py", "tests/integrations/test_client_generations.py"):
        (repo / name).write_text("")
    return repo


def _test_command(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """scripts/test.sh in the sandbox, on a machine without Go and without built binaries."""
    clean = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        ["bash", str(repo / "scripts" / "test.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean | {"GO": str(repo / "no-go"), "OTELCHAIN_BACKENDS_CACHE": str(repo / "cache")} | env,
    )


def _steps(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.removeprefix("STEP ") for line in proc.stdout.splitlines() if line.startswith("STEP ")]


def test_the_test_command_runs_narrow_tests_with_nothing_else(tmp_path: Path) -> None:
    repo = _test_command_sandbox(tmp_path)
    proc = _test_command(repo, "tests/callbacks", "-x")
    assert proc.returncode == 0, proc.stderr
    assert _steps(proc) == ["-m pytest tests/callbacks -x"]  # no venv to set up, no Go build, no linters
    assert "build_backends" not in proc.stdout + proc.stderr
    proc = _test_command(repo, "--deselect", "tests/export/test_collector.py::t", "tests/callbacks")
    assert _steps(proc) == ["-m pytest --deselect tests/export/test_collector.py::t tests/callbacks"]
    proc = _test_command(repo, "tests/integrations/test_client_generations.py::test_x")
    assert _steps(proc) == ["openai2", "-m pytest tests/integrations/test_client_generations.py::test_x"]


def test_the_test_command_without_go_says_so_once_and_runs_the_tests(tmp_path: Path) -> None:
    repo = _test_command_sandbox(tmp_path)
    proc = _test_command(repo, "tests/export/test_collector.py", "-q")
    assert proc.returncode == 0, proc.stderr
    assert _steps(proc) == ["phoenix", "-m pytest tests/export/test_collector.py -q"]
    assert proc.stderr.count("no Go toolchain") == 1 and "will be skipped" in proc.stderr
    proc = _test_command(repo, "-q", "-ra")  # the whole suite: everything prepared, the linters run
    assert proc.returncode == 0, proc.stderr
    assert _steps(proc) == ["phoenix", "openai2", "ruff", "mypy", "-m pytest -q -ra"]
    assert proc.stderr.count("no Go toolchain") == 1


def test_the_test_command_under_ci_needs_go(tmp_path: Path) -> None:
    """CI builds the Collector and Jaeger and runs everything: without Go it stops before pytest."""
    repo = _test_command_sandbox(tmp_path)
    proc = _test_command(repo, "tests/callbacks", CI="true")
    assert proc.returncode != 0
    assert _steps(proc) == ["phoenix"] and "cannot build the collector and Jaeger" in proc.stderr
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh -q -ra" in ci  # the README's test command, whole


def test_every_install_shown_works_from_a_checkout() -> None:
    """otelchain is installed from the checkout (`pip install -e .`), never by name from a registry."""
    for path in [*PAGES, *sorted((ROOT / "examples").glob("*.py"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "pip install" in line:
                by_name = re.search(r"pip install\b[^#`]*?[\s'\"]otelchain\b", line)
                assert not by_name, f"{path.name}: {line.strip()}"

"""Both generations of the openai client nest their HTTP spans under LangChain's chat spans:
openai 3.x (httpx2, HTTPX2ClientInstrumentor) in the project's venv (the other tests here), and
openai 2.x (httpx, HTTPXClientInstrumentor) in .venv-openai2, made by scripts/setup_openai2.sh."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import openai

from tests._servers.openai_server import OpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("OTELCHAIN_OPENAI2_VENV") or ROOT / ".venv-openai2")  # as the setup script


def test_this_venv_has_the_httpx2_generation() -> None:
    assert openai.__version__.startswith("3."), "the other tests here cover openai 3.x (httpx2)"


def test_openai2_httpx_client_nests_under_chat_spans(openai_server: OpenAIServer) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "setup_openai2.sh")], check=True, timeout=600)
    openai_server.add(Reply("one"), Reply("two three"), Reply("four"))
    app = Path(__file__).with_name("openai2_app.py")
    proc = subprocess.run(
        [str(VENV / "bin" / "python"), str(app), openai_server.base_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    header, *rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert header["openai"].startswith("2.")
    by_id = {r["id"]: r for r in rows}
    https = [r for r in rows if r["name"].startswith("POST")]
    chats = [r for r in rows if r["name"].startswith("chat ")]
    assert len(https) == len(chats) == 3
    assert sorted(by_id[h["parent"]]["id"] for h in https) == sorted(c["id"] for c in chats)
    assert len(openai_server.requests) == 3

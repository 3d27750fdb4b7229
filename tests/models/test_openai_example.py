"""examples/streaming_joke.py runs as the seed shows: scripted without a key, and on the real
OpenAI client (here pointed at the local test server) with one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests._servers.openai_server import OpenAIServer, Reply

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "streaming_joke.py"
SEED_TOKENS = ["\n", "\n", "Q", ":", " Why", " did", " the", " chicken", " cross", " the", " playground", "?"]
SEED_TOKENS += ["\n", "A", ":", " To", " get", " to", " the", " other", " slide", "."]
EXPECTED = "".join(f"{ {'token': t}!r}\n" for t in SEED_TOKENS) + "".join(SEED_TOKENS) + "\n"


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run(
        [sys.executable, str(EXAMPLE)], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_example_without_a_key_streams_the_seed_tokens() -> None:
    result = _run()
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED
    assert result.stdout.startswith("{'token': '\\n'}\n{'token': '\\n'}\n{'token': 'Q'}\n")


def test_example_with_a_key_uses_the_openai_client(openai_server: OpenAIServer) -> None:
    key = "sk-example-key-0000000000000"
    openai_server.expected_api_key = key
    openai_server.add(Reply(SEED_TOKENS))
    result = _run(OPENAI_API_KEY=key, OPENAI_BASE_URL=openai_server.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED
    assert key not in result.stdout + result.stderr
    (request,) = openai_server.requests
    assert request.path == "/v1/completions"
    assert request.body["prompt"] == "Tell me a joke."
    assert request.body["max_tokens"] == 25
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}

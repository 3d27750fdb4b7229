"""Every test starts with verbose mode off (env) and no counted handler errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otelchain.callbacks import reset_handler_error_counts, set_verbose
from tests._servers.openai_server import OpenAIServer


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OTELCHAIN_VERBOSE", "LANGCHAIN_VERBOSE"):
        monkeypatch.delenv(var, raising=False)
    set_verbose(None)
    reset_handler_error_counts()


@pytest.fixture(scope="session")
def _openai_server_session() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server(_openai_server_session: OpenAIServer) -> Iterator[OpenAIServer]:
    """The OpenAI-compatible server on 127.0.0.1 (tests/_servers); script and records reset per test."""
    server = _openai_server_session
    server.reset()
    yield server
    unused = server.pending()
    server.reset()
    assert unused == 0, f"{unused} scripted replies were not used"

"""Fixtures for model tests: OpenAI models wired to the test server, and the sync/async mode.

The OpenAI-compatible server fixture (``openai_server``) lives in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otelchain.chat_models import ChatOpenAI
from otelchain.llms import OpenAI
from tests._servers.openai_server import OpenAIServer
from tests.helpers import API_KEY


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every behaviour test runs on the sync and the async path."""
    return str(request.param)


@pytest.fixture
def make_llm(openai_server: OpenAIServer) -> Callable[..., OpenAI]:
    def make(**kwargs: Any) -> OpenAI:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", openai_server.base_url)
        kwargs.setdefault("max_retries", 0)
        return OpenAI(**kwargs)

    return make


@pytest.fixture
def make_chat(openai_server: OpenAIServer) -> Callable[..., ChatOpenAI]:
    def make(**kwargs: Any) -> ChatOpenAI:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", openai_server.base_url)
        kwargs.setdefault("max_retries", 0)
        return ChatOpenAI(**kwargs)

    return make

"""LangChain drop-in tests: `instrument()` on an in-memory provider, the real httpx/httpx2
instrumentation on the same provider, and langchain-openai's ChatOpenAI on the loopback server.

Guard (autouse, `tests.helpers.context_hygiene`, as for the tracing tests): no OTel context left
attached after a test, no "Failed to detach context" logged, `uninstrument()` after each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor

from otelchain.tracing import instrument, uninstrument
from tests._servers.openai_server import OpenAIServer
from tests.helpers import LC, Traced, context_hygiene, make_traced


@pytest.fixture(autouse=True)
def _context_hygiene(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    with context_hygiene(caplog):
        yield


@pytest.fixture
def lc(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[LC]:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    traced = make_traced()
    handler = instrument(traced.provider, conventions="all")  # the tests pin every vocabulary
    # openai 3.x sends through httpx2, older clients through httpx: both instrumented, as the
    # README tells users to do.
    instrumentors = [HTTPXClientInstrumentor(), HTTPX2ClientInstrumentor()]
    for inst in instrumentors:
        inst.instrument(tracer_provider=traced.provider)
    try:
        yield LC(traced, handler, openai_server)
    finally:
        for inst in instrumentors:
            inst.uninstrument()
        uninstrument()
        assert handler.runs == {}, "run state left behind"
        assert traced.handler.runs == {}
        assert handler.error_counts == {}, handler.error_counts
        traced.provider.shutdown()


@pytest.fixture
def lg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    """`instrument()` on an in-memory provider, for LangGraph apps without a model server."""
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    traced = make_traced()
    handler = instrument(traced.provider)
    traced.extra.append(handler)
    try:
        yield traced
    finally:
        uninstrument()
        assert handler.runs == {}, "run state left behind"
        assert handler.error_counts == {}, handler.error_counts
        traced.assert_clean()
        traced.provider.shutdown()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Async tests here share one event loop: langchain-openai caches its async HTTP client per
    base URL across calls, and a client bound to a closed loop cannot be reused."""
    import inspect

    for item in items:
        if "tests/integrations" in str(item.path) and inspect.iscoroutinefunction(
            getattr(item, "function", None)
        ):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)

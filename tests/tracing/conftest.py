"""Tracing fixtures: `traced` (a real SDK provider exporting to memory, and an OTel handler on it)
and the guard every tracing test runs under (no context left attached, no global handler behind,
no context-detach failure logged)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import Traced, context_hygiene, make_traced


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    t = make_traced()
    yield t
    assert t.handler.runs == {}, "run state left behind"
    assert t.handler.error_counts == {}, "the handler failed inside"
    t.provider.shutdown()


@pytest.fixture(autouse=True)
def _context_hygiene(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    with context_hygiene(caplog):
        yield

"""``health()``: readable in code, logged once with numbers, again only when the counts grew and
at most once per interval (a fake clock, no sleeping)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from otelchain.callbacks import BaseCallbackHandler
from otelchain.tracing import TracingHealth, health, reset_health
from otelchain.tracing._spans import health as _health
from tests.helpers import FakeClock, Pipeline, Traced


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    c = FakeClock()
    monkeypatch.setattr(_health, "_clock", c.monotonic)
    reset_health()
    yield c
    reset_health()


class Broken(BaseCallbackHandler):
    def on_chain_start(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("broken handler")


def reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "tracing health" in r.getMessage()]


def test_health_is_logged_once_then_when_it_grows_rate_limited(
    app: Traced, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "otelchain.tracing")
    assert health() == TracingHealth(0, 0, 0, 0, 0, 0, 0, 0) and health().ok
    Pipeline().call({"x": "q"}, [app.handler, Broken()])
    assert health().handler_errors == 1 and not health().ok
    assert len(reports(caplog)) == 1 and "handler_errors=1" in reports(caplog)[0]
    for _ in range(5):  # grows within the interval: not logged again yet
        Pipeline().call({"x": "q"}, [app.handler, Broken()])
    assert len(reports(caplog)) == 1
    clock.advance(_health.LOG_INTERVAL_S)
    Pipeline().call({"x": "q"}, [app.handler, Broken()])
    assert len(reports(caplog)) == 2 and "handler_errors=7" in reports(caplog)[1]
    clock.advance(_health.LOG_INTERVAL_S)
    Pipeline().call({"x": "q"}, [app.handler])  # nothing grew: nothing logged
    assert len(reports(caplog)) == 2
    assert health().as_dict()["handler_errors"] == 7


def test_truncated_and_sanitized_values_are_counted(clock: FakeClock) -> None:
    from otelchain.tracing._spans.values import json_text, truncate

    truncate("x" * 100, 32)
    truncate("lone \ud800", 32)
    json_text({"k": "v" * 100}, 32)
    json_text({str(i): i for i in range(100)}, 32)
    h = health()
    assert h.values_truncated == 3 and h.values_sanitized == 1

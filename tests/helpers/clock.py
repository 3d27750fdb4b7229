"""`FakeClock`: time the test moves by hand, so timing tests wait on nothing and assert exact values."""

from __future__ import annotations

import time
from typing import Any


class FakeClock:
    """A clock the test moves by hand (`advance`), in nanoseconds.

    Patch it in where the code under test reads time: as a module's ``time``
    (``monkeypatch.setattr(module, "time", clock)``: ``time_ns``/``monotonic`` read it, the
    rest is the real module), as the runs' clock (``monkeypatch.setattr(_runs, "now_ns", clock)``:
    calling the clock reads ``time_ns``) or as any seconds clock (``clock.monotonic``). With
    ``tick_ns`` every nanosecond reading moves it on by that much, so every stamp is distinct.
    """

    def __init__(self, start_ns: int = 1_000_000_000_000, tick_ns: int = 0) -> None:
        self.ns = start_ns
        self.tick_ns = tick_ns

    def advance(self, seconds: float) -> None:
        self.ns += round(seconds * 1e9)

    def time_ns(self) -> int:
        self.ns += self.tick_ns
        return self.ns

    __call__ = time_ns

    def monotonic(self) -> float:
        return self.ns / 1e9

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

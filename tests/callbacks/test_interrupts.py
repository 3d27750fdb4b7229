"""Ctrl-C is held while otelchain records or ends a run (`DEFER_INTERRUPTS`), and only under
Python's default SIGINT handler: real signals (``signal.raise_signal``), the main thread."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from otelchain.callbacks._interrupts import DEFER_INTERRUPTS, deferring


@pytest.fixture(autouse=True)
def _default_handler() -> Iterator[None]:
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_ctrl_c_inside_a_section_is_raised_as_it_exits() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), DEFER_INTERRUPTS:
        assert deferring()
        signal.raise_signal(signal.SIGINT)
        done.append("the rest of the section ran")
    assert done == ["the rest of the section ran"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_outside_sections_the_default_handler_is_in_place_and_raises_at_once() -> None:
    with DEFER_INTERRUPTS:
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler and not deferring()
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


def test_sections_nest_and_the_interrupt_waits_for_the_outermost() -> None:
    order = []
    with pytest.raises(KeyboardInterrupt), DEFER_INTERRUPTS:
        with DEFER_INTERRUPTS:
            signal.raise_signal(signal.SIGINT)
            order.append("inner")
        order.append("outer")
    assert order == ["inner", "outer"]


def test_a_second_ctrl_c_is_raised_at_once() -> None:
    """A user pressing again is not kept waiting by a slow section (an exporter that hangs)."""
    reached = []
    with pytest.raises(KeyboardInterrupt), DEFER_INTERRUPTS:
        signal.raise_signal(signal.SIGINT)
        reached.append(1)
        signal.raise_signal(signal.SIGINT)
        reached.append(2)
    assert reached == [1]


def test_an_interrupt_wins_over_an_exception_and_is_not_raised_twice() -> None:
    with pytest.raises(KeyboardInterrupt) as raised, DEFER_INTERRUPTS:
        signal.raise_signal(signal.SIGINT)
        raise ValueError("the section failed")
    assert isinstance(raised.value.__context__, ValueError)
    with pytest.raises(KeyboardInterrupt) as again, DEFER_INTERRUPTS:
        signal.raise_signal(signal.SIGINT)
        raise KeyboardInterrupt("raised by the code itself")
    assert str(again.value) == "raised by the code itself"
    with DEFER_INTERRUPTS:  # nothing was left pending: the next section exits quietly
        pass


def test_an_apps_own_handler_is_never_replaced() -> None:
    calls: list[int] = []

    def app_handler(signum: int, frame: FrameType | None) -> None:
        calls.append(signum)

    signal.signal(signal.SIGINT, app_handler)
    with DEFER_INTERRUPTS:
        assert signal.getsignal(signal.SIGINT) is app_handler and not deferring()
        signal.raise_signal(signal.SIGINT)
        assert calls == [signal.SIGINT]  # the app's handler ran at once, as it always does
    assert signal.getsignal(signal.SIGINT) is app_handler


def test_other_threads_leave_the_handler_alone() -> None:
    seen = []

    def work() -> None:
        with DEFER_INTERRUPTS:
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]

"""Time-ordered run ids (UUIDv7, RFC 9562) without a syscall per id, distinct across fork()."""

from __future__ import annotations

import os
import random
import threading
import time
from uuid import UUID, SafeUUID

__all__ = ["uuid7"]

# `random` is seeded once from the OS; per-id `os.urandom` would cost a syscall on the hot path.
_rand = random.Random()
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> UUID:
    """Return a UUIDv7: 48-bit Unix ms timestamp, then a 12-bit counter that keeps ids monotonic
    within one millisecond, then 62 random bits."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms > _last_ms:
            _last_ms = ms
            _counter = _rand.getrandbits(11)  # leave headroom so the counter rarely overflows
        else:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms = ms = ms + 1
                _counter = 0
        counter = _counter
        tail = _rand.getrandbits(62)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | tail
    # UUID(int=...) re-validates the range; building the immutable object directly is 3x faster.
    u = object.__new__(UUID)
    _set(u, "int", value)
    _set(u, "is_safe", SafeUUID.unknown)
    return u


_set = object.__setattr__


def _reseed_after_fork() -> None:
    """A forked child must not repeat its parent's random stream (gunicorn, Celery and
    multiprocessing all fork): reseed from the OS and start a fresh counter."""
    global _last_ms, _counter, _lock
    _rand.seed(os.urandom(32))
    _lock = threading.Lock()  # the parent may have held it while forking
    _last_ms = 0
    _counter = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)

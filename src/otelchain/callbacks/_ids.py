"""Time-ordered run ids: UUIDv7 (RFC 9562) from ``uuid-utils``, as standard ``uuid.UUID`` objects."""

from __future__ import annotations

import os

import uuid_utils
from uuid_utils.compat import uuid7

__all__ = ["uuid7"]

# A forked worker (gunicorn, Celery, multiprocessing) must not repeat its parent's random stream.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=uuid_utils.reseed_rng)

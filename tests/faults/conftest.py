"""The fault suite's fixture: an app traced into memory whose tally sees every span that never
ends (`tests.helpers.Traced.assert_clean` checks the invariants every fault test checks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import Traced, make_traced


@pytest.fixture
def app() -> Iterator[Traced]:
    a = make_traced()
    yield a
    a.provider.shutdown()

"""Every test starts with verbose mode off (env) and no counted handler errors."""

from __future__ import annotations

import pytest

from otelchain.callbacks import reset_handler_error_counts, set_verbose


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OTELCHAIN_VERBOSE", "LANGCHAIN_VERBOSE"):
        monkeypatch.delenv(var, raising=False)
    set_verbose(None)
    reset_handler_error_counts()

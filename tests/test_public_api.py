"""Each package's public surface: every name in ``__all__`` is there, documented, and has one
home (a class is exported by one package, LangChain's aliases of one class aside)."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "otelchain",
    "otelchain.agents",
    "otelchain.callbacks",
    "otelchain.chains",
    "otelchain.chat_models",
    "otelchain.integrations",
    "otelchain.llms",
    "otelchain.models",
    "otelchain.prompts",
    "otelchain.schema",
    "otelchain.tools",
    "otelchain.tracing",
]

# The top-level package re-exports the few names a first program needs.
_CONVENIENCE = "otelchain"


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_and_are_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    for public in module.__all__:
        value = getattr(module, public)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{public} has no docstring"


def test_one_package_per_class() -> None:
    homes: dict[int, set[str]] = {}
    for name in PACKAGES:
        if name == _CONVENIENCE:
            continue
        module = importlib.import_module(name)
        for public in module.__all__:
            value = getattr(module, public)
            if inspect.isclass(value):
                homes.setdefault(id(value), set()).add(name)
    shared = [sorted(packages) for packages in homes.values() if len(packages) > 1]
    assert shared == []


def test_readme_import_paths_still_work() -> None:
    from otelchain.callbacks import ConsoleCallbackHandler
    from otelchain.tracing import ConsoleCallbackHandler as Home

    assert ConsoleCallbackHandler is Home

"""Packaging: the README's dependency list matches pyproject.toml, the license is an SPDX string with
its file, lint and type-check tools are pinned, and the instrumentor entry point is declared."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        data = tomllib.load(fh)
    return dict(data["project"])


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def test_readme_dependency_list_matches_pyproject(project: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^Dependencies: (.*?)\.?\n(?:[A-Z]|\n)", readme, flags=re.M | re.S)
    assert match, "the README has no 'Dependencies:' paragraph"
    listed = {name.lower() for name in re.findall(r"`([\w.-]+)`", match.group(1))}
    declared = {_name(r) for r in project["dependencies"]}
    assert listed == declared, f"README lists {sorted(listed)}, pyproject declares {sorted(declared)}"


def test_license_is_an_spdx_string_with_its_file(project: dict[str, Any]) -> None:
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_lint_and_type_check_are_pinned(project: dict[str, Any]) -> None:
    dev = {_name(r): r for r in project["optional-dependencies"]["dev"]}
    for tool in ("ruff", "mypy"):
        assert re.fullmatch(rf"{tool}==\d+\.\d+\.\d+", dev[tool]), f"{tool} is not pinned: {dev[tool]!r}"


def test_the_instrumentor_entry_point_is_declared(project: dict[str, Any]) -> None:
    entry = project["entry-points"]["opentelemetry_instrumentor"]
    assert entry == {"otelchain": "otelchain.tracing:OtelchainInstrumentor"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_langchain_extra_installs_what_the_readmes_langchain_section_uses(
    project: dict[str, Any],
) -> None:
    import ast
    from importlib.metadata import packages_distributions

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## LangChain and LangGraph apps")
    section = readme[start : readme.index("\n## ", start + 1)]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "the README's LangChain section has no Python block"
    modules = {
        (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name or "").split(".")[0]
        for node in ast.walk(ast.parse(code.group(1)))
        if isinstance(node, (ast.Import, ast.ImportFrom))
    } - {"otelchain"}
    installed = packages_distributions()
    needed = {_normal(dist) for module in modules for dist in installed.get(module, [module])}
    offered = {
        _normal(_name(r)) for r in project["optional-dependencies"]["langchain"] + project["dependencies"]
    }
    assert needed and needed <= offered, f"otelchain[langchain] lacks {sorted(needed - offered)}"
    assert "langchain" in needed  # create_agent, which LangGraph's own deprecation warning points to


def test_the_span_tree_is_declared_as_a_trace_exporter(project: dict[str, Any]) -> None:
    entry = project["entry-points"]["opentelemetry_traces_exporter"]
    assert entry == {"otelchain_tree": "otelchain.tracing:ConsoleSpanTreeExporter"}

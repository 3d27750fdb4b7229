"""The layers point one way: callbacks knows nothing of OpenTelemetry or tracing; no package
imports one that imports it back. Read from the source (module-level imports, including ones
only for type checking; imports inside functions are runtime seams and are listed separately)."""

from __future__ import annotations

import ast
from pathlib import Path

import otelchain

SRC = Path(otelchain.__file__).parent


def _unit(module: str) -> str:
    """The package (or top-level module) a dotted otelchain module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "otelchain"


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in a file."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.extend((child.module, top) for _ in (0,))
            visit(child, inner)

    visit(tree, True)
    return found


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    """Package edges at module level, edges only inside functions, and modules importing OTel."""
    edges: dict[str, set[str]] = {}
    lazy: dict[str, set[str]] = {}
    otel: set[str] = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(p for p in rel.parts if p != "__init__")
        unit = _unit(module)
        for name, top in _imports(ast.parse(path.read_text())):
            if name.startswith("opentelemetry"):
                otel.add(module)
            if not name.startswith("otelchain.") or _unit(name) == unit:
                continue
            (edges if top else lazy).setdefault(unit, set()).add(_unit(name))
    return edges, lazy, otel


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == "otelchain":
                continue  # the root only wires the layers together; nothing imports it back
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif len(path) < 12:  # deep enough for any circle here; bounds the walk of a large graph
                walk(nxt, [*path, nxt])

    for start in sorted(edges):
        if start != "otelchain":
            walk(start, [start])
    return cycles


def test_no_import_cycle_between_packages() -> None:
    edges, _, _ = _graph()
    assert _cycles(edges) == []


def test_callbacks_knows_nothing_of_opentelemetry_or_tracing() -> None:
    edges, lazy, otel = _graph()
    assert not [m for m in otel if _unit(m) == "callbacks"]
    assert "tracing" not in edges.get("callbacks", set())
    assert "integrations" not in edges.get("callbacks", set())
    # The one runtime seam: `otelchain.callbacks.ConsoleCallbackHandler`, the README's import path.
    assert lazy.get("callbacks", set()) <= {"tracing", "schema"}


def test_tracing_does_not_import_integrations_at_import_time() -> None:
    edges, _, _ = _graph()
    assert "integrations" not in edges.get("tracing", set())


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Every otelchain module a file imports at run time: at module level or inside functions,
    not the imports only made for type checking."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.extend(
                    f"{child.module}.{alias.name}"
                    if _is_module(f"{child.module}.{alias.name}")
                    else child.module
                    for alias in child.names
                )
            visit(child)

    visit(tree)
    return [name for name in found if name == "otelchain" or name.startswith("otelchain.")]


def _is_module(name: str) -> bool:
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _area(module: str) -> str:
    """A module's area: a package under tracing (``otelchain.tracing._spans``) or a module of
    tracing's own (``otelchain.tracing._names``), else its top-level package."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "tracing":
        return ".".join(parts[:3])
    return ".".join(parts[:2]) if len(parts) > 1 else "otelchain"


def test_no_import_circle_even_inside_functions() -> None:
    """Imports inside functions count: one that only dodges a circle is still a circle. The
    tracing packages (_spans, _conventions, _console, _setup) are areas of their own, and no
    module below the root imports the root package back."""
    edges: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(p for p in rel.parts if p != "__init__")
        for name in _runtime_imports(ast.parse(path.read_text())):
            if module != "otelchain" and name == "otelchain":
                edges.setdefault(_area(module), set()).add("otelchain")
            elif _area(name) != _area(module):
                edges.setdefault(_area(module), set()).add(_area(name))
    assert not {a for a, targets in edges.items() if "otelchain" in targets and a != "otelchain"}
    assert _cycles(edges) == []


def test_no_module_imports_itself_back_even_inside_functions() -> None:
    """Module by module too: no circle of imports, at module level or inside functions."""
    edges: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(p for p in rel.parts if p != "__init__")
        edges[module] = {
            n for n in _runtime_imports(ast.parse(path.read_text())) if n not in (module, "otelchain")
        }
    assert _cycles(edges) == []


def _all_imports(tree: ast.AST) -> list[str]:
    """Every otelchain module a file names in an import, the ones only for type checking too."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend(
                f"{node.module}.{alias.name}" if _is_module(f"{node.module}.{alias.name}") else node.module
                for alias in node.names
            )
    return [name for name in found if name.startswith("otelchain.")]


def test_no_module_circle_even_for_type_checking() -> None:
    """A circle a reader (or a type checker) follows is a circle too: modules that need each
    other's types meet in a small protocol of the lower one instead."""
    edges: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(p for p in rel.parts if p != "__init__")
        edges[module] = {n for n in _all_imports(ast.parse(path.read_text())) if n != module}
    assert _cycles(edges) == []


def test_no_otelchain_module_imported_by_name() -> None:
    """``importlib.import_module("otelchain....")`` hides an arrow from every reader: the layers
    are wired by the package root instead (`otelchain/__init__.py`)."""
    hidden = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and str(first.value).startswith("otelchain")
            ):
                hidden.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert hidden == []

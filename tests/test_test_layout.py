"""The tests' own layout: shared code lives once in `tests.helpers` (servers in `tests._servers`),
conftest.py files hold only fixtures and hooks, no test imports another test module or a conftest,
there is one recording handler, and tests/<dir> mirrors src/otelchain/<dir>. Read from the source
(every import, also inside functions, and import lines in strings run by subprocesses)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import tests.helpers

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SRC = ROOT / "src" / "otelchain"
HELPERS = TESTS / "helpers"

# What test code may import from tests/: the shared helpers and the servers.
SHARED = ("tests.helpers", "tests._servers")
# Suites that cut across packages, and the shared code; every other tests/<dir> is a package's.
CROSS_CUTTING = {
    "export": "real trace backends (Phoenix, rotel, the collector and Jaeger) and the deploy files",
    "faults": "the fault suite (docs/reliability.md)",
    "examples": "examples/ run as users run them",
    "benchmarks": "benchmarks/ at smoke size",
    "helpers": "shared builders",
    "_servers": "loopback servers",
}
RECORDER_NAMES = re.compile(r"(Recorder|EventLog|Events|Recording\w*)$")
IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.MULTILINE)


def _sources() -> Iterator[tuple[str, str]]:
    """(path relative to the repo, text) of the tests and the benchmarks (which reuse the tests' helpers)."""
    for path in sorted([*TESTS.rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]):
        skipped = "__pycache__" in path.parts or ".venvs" in path.parts  # (the peers' benchmark venvs)
        if not skipped and path != Path(__file__).resolve():  # its samples are planted
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def bad_imports(source: str) -> list[str]:
    """Imports of test modules, conftests, relative imports, or tests/ modules other than the shared ones."""
    tree = ast.parse(source)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append("." * node.level + (node.module or ""))
                continue
            module = node.module or ""
            names.append(module)
            if module in ("tests", *SHARED):  # `from tests import conftest`, `from tests.helpers import x`
                names.extend(f"{module}.{alias.name}" for alias in node.names if alias.name[0].islower())
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # code run in a subprocess
            names.extend(a or b for a, b in IMPORT_LINE.findall(node.value))
    bad = []
    for name in names:
        parts = name.split(".")
        if name.startswith("."):
            bad.append(name)  # relative: one import path per module
        elif any(p == "conftest" or p.startswith("test_") for p in parts):
            bad.append(name)
        elif parts[0] in ("helpers", "_servers"):
            bad.append(name)  # through the `tests` path entry: a second copy of the module
        elif parts[0] == "tests" and len(parts) > 1 and not name.startswith(SHARED):
            bad.append(name)
    return bad


def _base_names(node: ast.ClassDef) -> set[str]:
    return {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases}


def recording_handlers(source: str) -> list[str]:
    """Handler classes that keep the events they receive: more than three callback events handled
    (methods, aliases or a loop over ``EVENT_NAMES``) and a collection on self filled by them; or
    a class named like a recorder that does not extend the shared `Recorder`."""
    tree = ast.parse(source)
    looped = {  # for event in EVENT_NAMES: setattr(Cls, event, ...)
        call.args[0].id
        for loop in ast.walk(tree)
        if isinstance(loop, ast.For) and "EVENT_NAMES" in ast.unparse(loop.iter)
        for call in ast.walk(loop)
        if isinstance(call, ast.Call)
        and getattr(call.func, "id", "") == "setattr"
        and call.args
        and isinstance(call.args[0], ast.Name)
    }
    found = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        bases = _base_names(cls)
        if RECORDER_NAMES.search(cls.name) and "Recorder" not in bases:
            found.append(cls.name)
            continue
        events: set[str] = set()
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name.startswith("on_"):
                events.add(stmt.name)
            elif isinstance(stmt, ast.Assign):
                targets = [t for a in stmt.targets for t in ast.walk(a) if isinstance(t, ast.Name)]
                events.update(t.id for t in targets if t.id.startswith("on_"))
        if len(events) > 3 or cls.name in looped:
            # what stores the events: the class's methods, or the module's function set in the loop
            body = ast.unparse(tree if cls.name in looped else cls)
            if re.search(r"self\.\w+(\.append|\.extend|\.setdefault|\[[^\]]*\]\s*=)", body):
                found.append(cls.name)
    return found


def non_fixtures(source: str) -> list[str]:
    """Top-level definitions of a conftest.py that are neither fixtures nor pytest hooks."""
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
            if fixture or node.name.startswith("pytest_"):
                continue
        out.append(getattr(node, "name", None) or ast.unparse(node).splitlines()[0])
    return out


def test_no_test_imports_a_test_module_or_a_conftest() -> None:
    found = {path: bad for path, text in _sources() if (bad := bad_imports(text))}
    assert found == {}, f"import these from {' or '.join(SHARED)} instead"


def test_conftest_files_hold_only_fixtures_and_hooks() -> None:
    found = {
        str(path.relative_to(ROOT)): extra
        for path in TESTS.rglob("conftest.py")
        if (extra := non_fixtures(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "move shared builders into tests/helpers"


def test_one_recording_handler() -> None:
    found = {
        path: classes
        for path, text in _sources()
        if not path.startswith("tests/helpers/") and (classes := recording_handlers(text))
    }
    assert found == {}, "record events with tests.helpers.Recorder"
    assert recording_handlers((HELPERS / "events.py").read_text(encoding="utf-8")) == ["Recorder"]


def test_no_test_module_redefines_a_shared_helper() -> None:
    """A local class or function named like a helper is a copy to fold (or a name to change)."""
    shared = set(tests.helpers.__all__)
    found = {}
    for path, text in _sources():
        if path.startswith(("tests/helpers/", "tests/_servers/")):
            continue
        tree = ast.parse(text)
        defined = {
            n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        }
        if clashes := sorted(defined & shared):
            found[path] = clashes
    assert found == {}


def test_no_skip_on_a_missing_package() -> None:
    """Every package the tests use is in the test extra: a missing one must fail, never skip."""
    found = [path for path, text in _sources() if "importorskip(" in text]
    assert found == []


def test_tests_mirror_the_package() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    dirs = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert dirs - packages - set(CROSS_CUTTING) == set()
    stray = sorted(
        str(p.relative_to(ROOT))
        for d in dirs - {"helpers", "_servers"}
        for p in (TESTS / d).glob("*.py")
        if not p.name.startswith("test_") and p.name not in ("conftest.py", "__init__.py")
    )
    # A module that is neither a test nor a conftest is a helper in the wrong place (one exception:
    # the app test_client_generations.py runs in the openai 2.x venv, which has no tests package).
    assert stray == ["tests/integrations/openai2_app.py"]


def test_the_checks_catch_what_they_look_for() -> None:
    """Each check finds a planted example (so a passing check is not an empty one)."""
    planted = (
        "import conftest\nfrom tests.tracing.conftest import tree\nfrom tests.agents import support\n"
        "from tests.tools.test_tools import X\nfrom . import y\nfrom helpers import Recorder\n"
        "from tests import conftest\nfrom tests.helpers import Recorder, spans\n"
        "CODE = 'from tests.faults.test_fault_interrupts import f'\n"
    )
    assert bad_imports(planted) == [
        "conftest",
        "tests.tracing.conftest",
        "tests.agents",
        "tests.tools.test_tools",
        ".",
        "helpers",
        "tests.conftest",
        "tests.faults.test_fault_interrupts",
    ]
    log = (
        "class EventLog:\n    pass\n"
        "class Log(BaseCallbackHandler):\n"
        "    def __init__(self):\n        self.seen = []\n"
        "    def _keep(self, *a, **k):\n        self.seen.append(a)\n"
        "    on_chain_start = on_chain_end = on_llm_start = on_llm_end = _keep\n"
        "class Everything:\n    def __init__(self):\n        self.events = []\n"
        "def _rec(name):\n    def f(self, *a, **k):\n        self.events.append(name)\n    return f\n"
        "for _e in EVENT_NAMES:\n    setattr(Everything, _e, _rec(_e))\n"
        "class Counter(BaseCallbackHandler):\n    def on_chain_start(self, *a, **k):\n        self.n += 1\n"
    )
    assert recording_handlers(log) == ["EventLog", "Log", "Everything"]
    assert non_fixtures("import pytest\nX = 1\nclass App: ...\ndef make(): ...\n") == ["X = 1", "App", "make"]

"""Zero code, as the README shows it, in subprocesses: ``OTEL_TRACES_EXPORTER=otelchain_tree
opentelemetry-instrument python app.py`` prints otelchain's span tree for a LangChain app that
never imports otelchain, with no error about a collector nobody set up; ``OTELCHAIN_TRACING=true``
traces an app that imports otelchain and, as documented, starts nothing in one that does not.

The launcher finds otelchain through entry points (installed metadata): the subprocesses get the
ones pyproject.toml declares (`tests.helpers.entry_points_path`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otelchain.tracing import ConsoleSpanTreeExporter
from otelchain.tracing._setup.instrumentor import launcher_metrics_go_nowhere
from tests.helpers import declared_entry_points, entry_points_path

INSTRUMENT = Path(sys.executable).parent / "opentelemetry-instrument"

LANGCHAIN_APP = textwrap.dedent(
    """
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.prompts import ChatPromptTemplate

    model = FakeListChatModel(responses=["Rayleigh"])
    chain = ChatPromptTemplate.from_messages([("user", "{question}")]) | model
    print(chain.invoke({"question": "Why is the sky blue?"}).content)
    """
)


def run(argv: list[str], tmp_path: Path, app: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "OTELCHAIN_", "LANGCHAIN_"))}
    path = [entry_points_path(tmp_path / "metadata"), clean.get("PYTHONPATH", "")]
    clean |= {"PYTHONPATH": os.pathsep.join(p for p in path if p), "PYTHONUNBUFFERED": "1"} | env
    script = tmp_path / "app.py"
    script.write_text(app, encoding="utf-8")
    proc = subprocess.run(
        [*argv, sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=90,
        env=clean,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_the_tree_is_an_opentelemetry_traces_exporter_entry_point() -> None:
    entry = declared_entry_points()["opentelemetry_traces_exporter"]
    assert entry == {"otelchain_tree": "otelchain.tracing:ConsoleSpanTreeExporter"}


def test_opentelemetry_instrument_prints_the_tree_quietly(tmp_path: Path) -> None:
    """Only the tree asked for: the launcher's defaults would send metrics to localhost:4317,
    where nobody runs a collector; otelchain records none there, so nothing fails or waits."""
    proc = run([str(INSTRUMENT)], tmp_path, LANGCHAIN_APP, OTEL_TRACES_EXPORTER="otelchain_tree")
    out = proc.stdout
    assert out.startswith("Rayleigh\n")
    assert re.search(r"^trace [0-9a-f]{32}$", out, re.M), out
    assert re.search(r"^└── 1:chain:RunnableSequence  \S+  UNSET$", out, re.M), out
    assert "3:llm:FakeListChatModel" in out and "input  user Why is the sky blue?" in out
    # no "Failed to export metrics to localhost:4317", no retry, nothing from otelchain
    assert not re.search(r"4317|export|retry|otelchain|Traceback", proc.stderr, re.I), proc.stderr


def test_otelchain_tracing_traces_an_app_that_imports_otelchain(tmp_path: Path) -> None:
    """As documented: the variable is read when otelchain is imported (one import is enough);
    an app that never imports it is not traced (use opentelemetry-instrument)."""
    not_imported = run([], tmp_path, LANGCHAIN_APP, OTELCHAIN_TRACING="true")
    assert not_imported.stdout == "Rayleigh\n"
    imported = run([], tmp_path, "import otelchain\n" + LANGCHAIN_APP, OTELCHAIN_TRACING="true")
    assert imported.stdout.startswith("Rayleigh\n")
    assert re.search(r"^└── 1:chain:RunnableSequence  \S+  UNSET$", imported.stdout, re.M), imported.stdout
    assert "Traceback" not in imported.stderr and "otelchain" not in imported.stderr, imported.stderr


@pytest.mark.parametrize(
    ("env", "nowhere"),
    [
        ({"OTEL_TRACES_EXPORTER": "otelchain_tree"}, True),  # the launcher's otlp default, unset up
        ({"OTEL_TRACES_EXPORTER": "otelchain_tree", "OTEL_METRICS_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "otelchain_tree", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, False),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_TRACES_EXPORTER": "otelchain_tree", "OTEL_METRICS_EXPORTER": "console"}, False),
        ({"OTEL_TRACES_EXPORTER": "otelchain_tree", "OTEL_METRICS_EXPORTER": "none"}, False),
        ({}, False),  # traces to the default collector over OTLP: it is there, metrics go too
        ({"OTEL_TRACES_EXPORTER": "otelchain_tree,otlp"}, False),
    ],
)
def test_metrics_off_only_where_nobody_set_them_up(
    env: dict[str, str], nowhere: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    launcher = "opentelemetry.instrumentation.auto_instrumentation"
    monkeypatch.setitem(sys.modules, launcher, sys.modules.get(launcher) or __import__(launcher))
    assert launcher_metrics_go_nowhere() is nowhere
    monkeypatch.delitem(sys.modules, launcher)
    assert launcher_metrics_go_nowhere() is False  # not under the launcher: the app's own setup


def test_configure_takes_the_entry_points_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from otelchain.tracing import configure

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    provider = configure(exporter="otelchain_tree", set_global=False)
    (processor,) = provider._active_span_processor._span_processors
    assert isinstance(processor.span_exporter.exporter, ConsoleSpanTreeExporter)
    provider.shutdown()

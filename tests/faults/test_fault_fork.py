"""fork() and multiprocessing: run ids stay unique across fork() (issue 11: forked workers
repeated their parent's random stream), a multiprocessing child exports its spans although it
ends with ``os._exit``, and a fork child starts with no runs of its parent's (issue 21)."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from otelchain.callbacks import CallbackManagerForChainRun
from otelchain.callbacks._ids import uuid7
from tests._servers.otlp_receiver import OtlpReceiver
from tests.helpers import Traced, XYChain

ROOT = Path(__file__).resolve().parents[2]
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_workers_make_distinct_run_ids() -> None:
    uuid7()  # the parent's generator is in use before the fork, as in a preloading server
    ids_by_child: list[set[str]] = []
    for _ in range(30):
        start_ms = time.time_ns() // 1_000_000 + 20  # both children start in the same millisecond
        children = []
        for _ in range(2):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: 50 ids, written to the pipe, then exit without cleanup
                try:
                    os.close(read)
                    while time.time_ns() // 1_000_000 < start_ms:
                        pass
                    os.write(write, "\n".join(str(uuid7()) for _ in range(50)).encode())
                finally:
                    os._exit(0)
            os.close(write)
            children.append((pid, read))
        for pid, read in children:
            chunks = []
            while chunk := os.read(read, 65536):
                chunks.append(chunk)
            os.close(read)
            os.waitpid(pid, 0)
            ids_by_child.append(set(b"".join(chunks).decode().split("\n")))
    all_ids = [i for ids in ids_by_child for i in ids]
    assert all(len(ids) == 50 for ids in ids_by_child)
    assert len(set(all_ids)) == len(all_ids), "two forked workers made the same run id"
    assert sys.platform != "win32"


class Echo(XYChain):
    type_name = "echo"

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        return {"y": inputs["x"]}


def _child_work(endpoint: str) -> None:
    """What the multiprocessing child runs: 50 traced runs, then it returns (and ends with os._exit)."""
    from otelchain.tracing import OpenTelemetryCallbackHandler, configure

    handler = OpenTelemetryCallbackHandler(configure(set_global=False, exporter="otlp", endpoint=endpoint))
    for i in range(50):
        Echo().call({"x": i}, [handler])


def multiprocessing_app(endpoint: str, configure_in: str) -> None:
    """A fresh interpreter's app: ``configure()`` (in the parent, or in the child itself), then a
    multiprocessing (fork) child that makes 50 spans; batches are held for a minute, so only the
    child's exit flush can send them."""
    from otelchain.tracing import OpenTelemetryCallbackHandler, configure

    options: dict[str, Any] = {"set_global": False, "exporter": "otlp", "endpoint": endpoint}
    os.environ["OTEL_BSP_SCHEDULE_DELAY"] = "60000"
    if configure_in == "parent":
        provider = configure(**options)

        def work() -> None:
            handler = OpenTelemetryCallbackHandler(provider)
            for i in range(50):
                Echo().call({"x": i}, [handler])

        child = multiprocessing.get_context("fork").Process(target=work)
    else:
        child = multiprocessing.get_context("fork").Process(target=_child_work, args=(endpoint,))
    child.start()
    child.join()
    print(json.dumps({"exitcode": child.exitcode}))


@needs_fork
@pytest.mark.parametrize("configure_in", ["parent", "child"])
def test_a_multiprocessing_child_exports_its_spans(configure_in: str) -> None:
    """Before the fix: 0 of 50 spans exported, nothing counted (the child ends with os._exit,
    which skips the exit flush). The child's export answers before it exits, so every span is in
    when the app's process has ended."""
    with OtlpReceiver() as backend:
        proc = subprocess.run(
            [sys.executable, __file__, "multiprocessing", backend.endpoint, configure_in], cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"exitcode": 0}
        assert sorted(s.name for s in backend.spans) == ["invoke_workflow echo"] * 50


class Forks(XYChain):
    """A chain whose body forks: the child reports its handler's runs and exits at once."""

    type_name = "forks"

    def __init__(self, app: Traced, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read)
                report = {"runs": len(self.app.handler.runs)}
                Echo().call({"x": "in the child"}, [self.app.handler])  # a new run, its own root
                report["after"] = len(self.app.handler.runs)
                os.write(write, json.dumps(report).encode())
            finally:
                os._exit(0)
        os.close(write)
        chunks = []
        while chunk := os.read(read, 65536):
            chunks.append(chunk)
        os.close(read)
        os.waitpid(pid, 0)
        return {"y": json.loads(b"".join(chunks))}


@needs_fork
def test_a_fork_child_starts_with_an_empty_run_map(app: Traced) -> None:
    """Before the fix the child kept its parent's in-flight run (1 run in its map, forever)."""
    report = Forks(app).call({"x": "q"}, [app.handler])["y"]
    assert report == {"runs": 0, "after": 0}
    app.assert_clean()
    assert [s.name for s in app.spans] == ["invoke_workflow forks"]  # it ends once, in the parent


if __name__ == "__main__" and sys.argv[1:2] == ["multiprocessing"]:
    multiprocessing_app(sys.argv[2], sys.argv[3])

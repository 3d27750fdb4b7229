"""`instrument()` while another thread is importing langchain-core's chat models (issue 21): the
module is in ``sys.modules`` before its classes exist; the wrappers that make a model's span
current are installed once that import has finished, never left off, so the model's HTTP span
nests under its chat span. Real threads, a real import (held at its start by a loader the test
releases), langchain-openai against the loopback server, in a fresh interpreter."""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from tests._servers.openai_server import OpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[2]
CHAT_MODELS = "langchain_core.language_models.chat_models"


def test_instrument_racing_the_import_of_chat_models_still_nests_http_spans(
    openai_server: OpenAIServer,
) -> None:
    """Before the fix patching failed once ("partially initialized module"), was never retried,
    and the HTTP span of every model call was a sibling of its chat span, not its child."""
    openai_server.add(Reply("hello"))
    proc = subprocess.run(
        [sys.executable, __file__, openai_server.base_url], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["raced"] is True  # instrument() ran while the module was half imported
    assert report["wrapped"] is True
    assert ["POST", "chat m"] in report["tree"], report["tree"]  # (span, parent)


class _HeldImport(importlib.abc.MetaPathFinder):
    """Holds the import of one module right before its code runs (it is in ``sys.modules``,
    marked as initializing), until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inside = threading.Event()
        self.release = threading.Event()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        assert spec is not None and spec.loader is not None
        real, held = spec.loader, self

        class Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> ModuleType | None:
                return real.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                held.inside.set()
                held.release.wait()
                real.exec_module(module)

        spec.loader = Loader()
        return spec


def race(base_url: str) -> None:
    import langchain_core.language_models.base  # noqa: F401  (its package, imported up front)

    held = _HeldImport(CHAT_MODELS)
    sys.meta_path.insert(0, held)
    importer = threading.Thread(target=importlib.import_module, args=(CHAT_MODELS,))
    importer.start()
    held.inside.wait()

    from otelchain.tracing import instrument
    from tests.helpers import make_traced

    traced = make_traced()
    instrument(traced.provider)  # the module is half imported right now
    raced = CHAT_MODELS in sys.modules and not hasattr(sys.modules[CHAT_MODELS], "BaseChatModel")
    held.release.set()
    importer.join()
    for thread in threading.enumerate():  # otelchain's wait for that import, if it started one
        if thread.name.startswith("otelchain-patch"):
            thread.join()

    import wrapt
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_openai import ChatOpenAI
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor

    for instrumentor in (HTTPXClientInstrumentor(), HTTPX2ClientInstrumentor()):
        instrumentor.instrument(tracer_provider=traced.provider)
    wrapped = isinstance(BaseChatModel.__dict__["_generate_with_cache"], wrapt.FunctionWrapper)
    model = ChatOpenAI(model="m", api_key="sk-race-test-key-0123456789", base_url=base_url, max_retries=0)  # type: ignore[arg-type]
    model.invoke("hi")
    names = {s.context.span_id: s.name for s in traced.spans if s.context is not None}
    tree = [[s.name, names.get(s.parent.span_id) if s.parent else None] for s in traced.spans]
    print(json.dumps({"raced": raced, "wrapped": wrapped, "tree": tree}))


if __name__ == "__main__":
    race(sys.argv[1])

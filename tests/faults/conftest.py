"""The fault suite: an app of a chain, a streaming model and a tool, traced into memory, and the
invariants every fault test checks (every span that started ended, no run state left)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelchain.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from otelchain.llms import FakeListLLM
from otelchain.tools import Tool
from otelchain.tracing import OpenTelemetryCallbackHandler
from tests.helpers import XYChain


class Tally(SpanProcessor):
    """Counts spans started and ended at the SDK, so a span that never ends is seen."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self.open: dict[int, str] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with self._lock:
            self.started += 1
            self.open[span.context.span_id] = span.name

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.ended += 1
            self.open.pop(span.context.span_id, None)  # type: ignore[union-attr]


@dataclass
class App:
    """A traced app: the tracing handler, its provider and what reached the exporter."""

    handler: OpenTelemetryCallbackHandler
    provider: TracerProvider
    exporter: InMemorySpanExporter
    tally: Tally
    extra: list[Any] = field(default_factory=list)

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def assert_clean(self) -> None:
        """Every span that started ended, and the handler holds no run."""
        assert self.tally.open == {}, f"spans never ended: {sorted(self.tally.open.values())}"
        assert self.tally.started == self.tally.ended
        assert self.handler.runs == {}, f"runs left: {[r.name for r in self.handler.runs.values()]}"
        for h in self.extra:
            assert getattr(h, "runs", {}) == {}, f"runs left in {type(h).__name__}"


def make_app(**handler_options: Any) -> App:
    exporter = InMemorySpanExporter()
    tally = Tally()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(tally)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return App(OpenTelemetryCallbackHandler(provider, **handler_options), provider, exporter, tally)


@pytest.fixture
def app() -> Iterator[App]:
    a = make_app()
    yield a
    a.provider.shutdown()


# The events of one `Pipeline` call, in order (the chain, its streaming model, its tool).
EVENTS = [
    "on_chain_start",
    "on_llm_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_tool_start",
    "on_tool_end",
    "on_chain_end",
]


class Pipeline(XYChain):
    """A chain that asks a streaming model, then runs a tool on the answer (sync and async)."""

    type_name = "pipeline"

    def __init__(self, llm: Any = None, tool: Tool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.llm = llm or FakeListLLM([["a", "b", "c"]], streaming=True)
        self.tool = tool or Tool("echo", "Echo the text.", func=lambda s: f"echo {s}", coroutine=_aecho)

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        text = self.llm.call(str(inputs["x"]), callbacks=run_manager.get_child())
        return {"y": self.tool.run(str(text), callbacks=run_manager.get_child())}

    async def _acall(
        self, inputs: dict[str, Any], run_manager: AsyncCallbackManagerForChainRun
    ) -> dict[str, Any]:
        text = await self.llm.acall(str(inputs["x"]), callbacks=run_manager.get_child())
        return {"y": await self.tool.arun(str(text), callbacks=run_manager.get_child())}


async def _aecho(s: str) -> str:
    return f"echo {s}"

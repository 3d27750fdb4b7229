"""Scenarios on langchain-core objects, for one tracing tool per process (and per virtual
environment): otelchain's ``instrument()``, OpenInference's ``LangChainInstrumentor`` or Traceloop's
``LangchainInstrumentor``. The floor (no callbacks, a no-op handler, a raw span and the SDK replay of
the tool's own spans) is measured again in each process, so every ratio compares within one process.

The tool is switched on around each of its timed rounds and off for the others (each
instrumentor patches langchain-core globally), so "no callbacks" is really untraced.

    python benchmarks/langchain_scenarios.py --tool openinference [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    Scenario,
    Variant,
    capture,
    make_provider,
    measure,
    plan_counts,
    replay,
    results,
    rss_kib,
    token_yardstick,
)
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda

TOOLS = ("otelchain", "openinference", "traceloop")


class ScriptedChat(BaseChatModel):
    """A chat model with a provider's full response shape (model, usage, finish reason), no I/O."""

    model_name: str = "gpt-4o-mini"
    temperature: float = 0.2
    max_tokens: int = 256
    tokens: list[str] = ["The", " capital", " of", " France", " is", " Paris", "."]  # noqa: RUF012 (pydantic field)

    @property
    def _llm_type(self) -> str:
        return "openai-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        message = AIMessage(
            "".join(self.tokens),
            id="chatcmpl-bench",
            response_metadata={"model_name": self.model_name, "finish_reason": "stop"},
            usage_metadata={
                "input_tokens": 12,
                "output_tokens": len(self.tokens),
                "total_tokens": 12 + len(self.tokens),
            },
        )
        return ChatResult(
            generations=[ChatGeneration(message=message)], llm_output={"model_name": self.model_name}
        )

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for token in self.tokens:
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))  # stream() reports the token
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", response_metadata={"model_name": self.model_name, "finish_reason": "stop"}
            )
        )


class NoOp(BaseCallbackHandler):
    """Implements nothing: every event is the base class's no-op."""


class Tool:
    """Switches one tracing tool on (into a given provider) and off."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[Any] = []
        if name == "otelchain":
            from otelchain.tracing import instrument, uninstrument

            def on(provider: Any) -> None:
                self.handlers.append(instrument(provider))

            self._on, self._off = on, uninstrument
        elif name == "openinference":
            from openinference.instrumentation.langchain import LangChainInstrumentor

            inst = LangChainInstrumentor()
            self._on = lambda provider: inst.instrument(tracer_provider=provider)
            self._off = inst.uninstrument
        elif name == "traceloop":
            self._on, self._off = self._traceloop()
        else:
            raise ValueError(f"unknown tool {name!r}; one of {TOOLS}")

    @staticmethod
    def _traceloop() -> tuple[Callable[[Any], None], Callable[[], None]]:
        """Traceloop's ``uninstrument()`` leaves ``BaseCallbackManager.__init__`` wrapped (so a
        second ``instrument()`` keeps feeding the first provider): instrument once, then switch
        by putting its wrapper in place or taking it away, pointing its handler at the provider."""
        from langchain_core.callbacks import BaseCallbackManager
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor
        from opentelemetry.instrumentation.langchain.version import __version__
        from opentelemetry.trace import get_tracer

        original = BaseCallbackManager.__dict__["__init__"]
        state: dict[str, Any] = {}

        def on(provider: Any) -> None:
            if "wrapper" not in state:
                LangchainInstrumentor().instrument(tracer_provider=provider)
                state["wrapper"] = BaseCallbackManager.__dict__["__init__"]
            else:
                BaseCallbackManager.__init__ = state["wrapper"]  # type: ignore[method-assign]
            handler = state["wrapper"]._self_wrapper._callback_handler
            handler.tracer = get_tracer("opentelemetry.instrumentation.langchain", __version__, provider)

        def off() -> None:
            BaseCallbackManager.__init__ = original  # type: ignore[method-assign]

        return on, off

    def install(self, provider: Any) -> Callable[[], None]:
        self._on(provider)
        return self._off

    def run_map(self) -> int:
        """Live runs left in every otelchain handler made (otelchain only; peers expose none)."""
        return sum(len(handler.runs) for handler in self.handlers)

    def label(self) -> str:
        return {
            "otelchain": "otelchain instrument()",
            "openinference": "OpenInference instrumentor",
            "traceloop": "Traceloop instrumentor",
        }[self.name]


def _variants(tool: Tool, unit: Callable[[Any], object], spans_expected: int | None) -> list[Variant]:
    noop = {"callbacks": [NoOp()]}
    variants = [
        Variant("no callbacks", "base", lambda: unit(None)),
        Variant("no-op handler", "noop", lambda: unit(noop)),
    ]
    plan = capture(tool.install, lambda: unit(None))
    if spans_expected is not None and len(plan) != spans_expected:
        raise RuntimeError(f"{tool.name}: expected {spans_expected} spans per unit, captured {len(plan)}")
    provider, exporter = make_provider("batch")
    tracer = provider.get_tracer("bench")
    variants.append(
        Variant(
            "raw span (Batch)",
            "raw",
            lambda: tracer.start_span("raw").end(),
            provider=provider,
            exporter=exporter,
            spans_per_unit=1,
        )
    )
    floor_provider, floor_exporter = make_provider("batch")
    sdk = replay(floor_provider.get_tracer("bench"), plan)
    traced = f"{tool.label()} (Batch)"
    floor = f"SDK floor, same spans as {tool.name} (Batch)"

    def floor_fn() -> None:
        sdk(lambda: unit(None))

    variants.append(
        Variant(
            floor,
            "floor",
            floor_fn,
            floor_of=traced,
            provider=floor_provider,
            exporter=floor_exporter,
            spans_per_unit=len(plan),
        )
    )
    traced_provider, traced_exporter = make_provider("batch")
    variants.append(
        Variant(
            traced,
            "traced",
            lambda: unit(None),
            floor=floor,
            provider=traced_provider,
            exporter=traced_exporter,
            spans_per_unit=len(plan),
            events_per_unit=plan_counts(plan)[0],
            attributes_per_unit=plan_counts(plan)[1],
            enter=lambda: tool.install(traced_provider),
            exit=tool._off,
            run_map=tool.run_map if tool.name == "otelchain" else None,
        )
    )
    return variants


def chain_run(tool: Tool, quick: bool) -> Scenario:
    lam = RunnableLambda(lambda x: x)
    return Scenario(
        "langchain-core: one RunnableLambda run",
        "run",
        1,
        200 if quick else 1500,
        _variants(tool, lambda config: lam.invoke(1, config), 1),
    )


def nested_runs(tool: Tool, quick: bool) -> Scenario:
    inner = RunnableLambda(lambda x: x + 1)
    middle = RunnableLambda(lambda x: inner.invoke(x))
    outer = RunnableLambda(lambda x: middle.invoke(x))
    return Scenario(
        "langchain-core: three nested RunnableLambda runs",
        "trace",
        1,
        100 if quick else 700,
        _variants(tool, lambda config: outer.invoke(1, config), 3),
    )


def llm_run(tool: Tool, quick: bool) -> Scenario:
    model = ScriptedChat()
    messages = [SystemMessage("You are a concise geography assistant."), HumanMessage("Capital of France?")]
    return Scenario(
        "langchain-core: chat model run, full attributes",
        "run",
        1,
        100 if quick else 700,
        _variants(tool, lambda config: model.invoke(messages, config, stop=["\n\n"]), 1),
    )


def token_stream(tool: Tool, quick: bool) -> Scenario:
    tokens = 1_000 if quick else 10_000
    model = ScriptedChat(tokens=[f" t{i % 100}" for i in range(tokens)])
    messages = [HumanMessage("Count for me.")]

    def unit(config: Any) -> object:
        n = 0
        for _ in model.stream(messages, config):
            n += 1
        return n

    scenario = Scenario(
        f"langchain-core: {tokens:,}-token chat stream", "token", tokens, 3, _variants(tool, unit, 1)
    )
    token_yardstick(scenario, model.tokens)
    return scenario


SCENARIOS: dict[str, Callable[[Tool, bool], Scenario]] = {
    "lc_chain": chain_run,
    "lc_nested": nested_runs,
    "lc_llm": llm_run,
    "lc_stream": token_stream,
}


def burst(tool: Tool, runs: int, sample_every: int) -> dict[str, Any]:
    """``runs`` traced RunnableLambda runs into a discarding exporter (SDK-default Batch processor)."""
    provider, exporter = make_provider("batch")
    lam = RunnableLambda(lambda x: x)
    off = tool.install(provider)
    try:
        warmup = 500
        for _ in range(warmup):
            lam.invoke(1)
        provider.force_flush()
        gc.collect()
        samples = [(0, rss_kib())]
        start_cpu, start_wall = time.thread_time(), time.perf_counter()
        done = 0
        while done < runs:
            for _ in range(min(sample_every, runs - done)):
                lam.invoke(1)
            done = min(runs, done + sample_every)
            samples.append((done, rss_kib()))
        cpu, wall = time.thread_time() - start_cpu, time.perf_counter() - start_wall
    finally:
        off()
    provider.force_flush()
    gc.collect()
    final = rss_kib()
    provider.shutdown()
    by_runs = dict(samples)
    mark = min((r for r in by_runs if r >= runs // 10 and r > 0), default=runs)
    return {
        "variant": f"{tool.label()} (Batch, SDK defaults)",
        "runs": runs,
        "spans_expected": runs + warmup,
        "spans_exported": exporter.count,
        "spans_lost": runs + warmup - exporter.count,
        "run_map_left": tool.run_map() if tool.name == "otelchain" else None,
        "rss_kib_samples": samples,
        "rss_kib_after_flush": final,
        "rss_growth_pct_from": mark,
        "rss_growth_pct": (by_runs[runs] - by_runs[mark]) / by_runs[mark] * 100
        if by_runs.get(mark)
        else None,
        "us_per_run_cpu": cpu / runs * 1e6,
        "runs_per_s_wall": runs / wall if wall else None,
    }


def run(
    tool_name: str,
    quick: bool,
    only: list[str] | None,
    rounds: int,
    burst_runs: int,
    memory_calls: int,
    n: int | None = None,
) -> dict[str, Any]:
    """Every selected scenario for one tool, as JSON-ready results."""
    import langchain_core

    tool = Tool(tool_name)
    versions = {"langchain-core": langchain_core.__version__}
    from importlib.metadata import PackageNotFoundError, version

    for dist in (
        "opentelemetry-sdk",
        "openinference-instrumentation-langchain",
        "opentelemetry-instrumentation-langchain",
        "otelchain",
    ):
        with contextlib.suppress(PackageNotFoundError):
            versions[dist] = version(dist)
    out: dict[str, Any] = {"tool": tool_name, "versions": versions, "scenarios": [], "bursts": []}
    for name, build in SCENARIOS.items():
        if only and name not in only:
            continue
        scenario = build(tool, quick)
        measure(scenario, rounds, n)
        result = results(scenario, memory_calls if scenario.unit != "token" else 1)
        result["environment"] = f"{tool_name} env"
        result["key"] = name
        out["scenarios"].append(result)
    if burst_runs and (not only or "lc_burst" in only):
        out["bursts"].append(burst(tool, burst_runs, max(1, burst_runs // 10)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tool", choices=TOOLS, required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--burst", type=int, default=None, help="runs in the burst (0: none)")
    parser.add_argument("--memory-calls", type=int, default=None)
    parser.add_argument("--json", default="-", help="where to write the results ('-': stdout)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 11)
    burst_runs = args.burst if args.burst is not None else (5_000 if args.quick else 100_000)
    memory_calls = args.memory_calls if args.memory_calls is not None else (20 if args.quick else 200)
    out = run(args.tool, args.quick, args.only, rounds, burst_runs, memory_calls)
    text = json.dumps(out, indent=1)
    if args.json == "-":
        print(text)
    else:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scenarios on langchain-core objects, for one tracing tool per process (and per virtual
environment): otelchain's ``instrument()``, OpenInference's ``LangChainInstrumentor``, Traceloop's
``LangchainInstrumentor`` or OpenTelemetry's own ``LangChainInstrumentor``
(``opentelemetry-instrumentation-genai-langchain``, "official"). The floor (no callbacks, a no-op
handler, a raw span and the SDK replay of the tool's own spans) is measured again in each process,
so every ratio compares within one process.

The tool is switched on around each of its timed rounds and off for the others (each
instrumentor patches langchain-core globally), so "no callbacks" is really untraced. Every tool
records message content on its spans (``_harness.CONTENT_ENV``); each traced variant has a twin on
a provider that samples every run out.

    python benchmarks/langchain_scenarios.py --tool official [--quick] [--json out.json]
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
    CONTENT_ENV,
    CONVENTION_SETTINGS,
    Scenario,
    Variant,
    capture,
    content_mode,
    make_provider,
    measure,
    plan_counts,
    replay,
    results,
    rss_kib,
    token_yardstick,
    wire,
)
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from opentelemetry import context as otel_context

TOOLS = ("otelchain", "openinference", "traceloop", "official")
_WIRE_UNITS = 3  # units whose spans the traced variant's exporter keeps for the wire figures


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
        self.handlers: list[Any] = []  # the per-run state each tool made: the run map counts what is left
        self.leaks = False  # the last scenario's sampled-out call left a context attached
        self._marked = 0
        if name == "otelchain":
            from otelchain.tracing import instrument, uninstrument

            def on(provider: Any) -> None:
                self.handlers.append(instrument(provider).runs)

            self._on, self._off = on, uninstrument
        elif name == "openinference":
            from openinference.instrumentation.langchain import LangChainInstrumentor

            inst = LangChainInstrumentor()

            def on_oi(provider: Any) -> None:
                inst.instrument(tracer_provider=provider)
                self.handlers.append(inst._tracer._spans_by_run)  # a new tracer per instrument()

            self._on, self._off = on_oi, inst.uninstrument
        elif name == "traceloop":
            self._on, self._off = self._traceloop()
        elif name == "official":
            from opentelemetry.instrumentation.genai.langchain import (
                LangChainInstrumentor as OfficialInstrumentor,
            )

            official = OfficialInstrumentor()

            def on_official(provider: Any) -> None:
                # its dependency check asks for the ``langchain`` distribution; it instruments
                # langchain-core, which is what this environment has
                official.instrument(tracer_provider=provider, skip_dep_check=True)
                handler = official._callback_handler  # a new handler per instrument()
                self.handlers.append(handler._invocation_manager._invocations)

            self._on, self._off = on_official, official.uninstrument
        else:
            raise ValueError(f"unknown tool {name!r}; one of {TOOLS}")

    def _traceloop(self) -> tuple[Callable[[Any], None], Callable[[], None]]:
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
                self.handlers.append(state["wrapper"]._self_wrapper._callback_handler.spans)
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

    def conventions_wire(self, unit: Callable[[Any], object]) -> dict[str, dict[str, Any]]:
        """otelchain only: what one unit's spans weigh on the wire under each ``conventions=``
        setting (``unit(None)`` runs one unit with no callbacks of its own)."""
        if self.name != "otelchain":
            return {}
        from otelchain.tracing import instrument, uninstrument

        out: dict[str, dict[str, Any]] = {}
        for setting, conventions in CONVENTION_SETTINGS.items():
            provider, exporter = make_provider("simple", keep=10_000)
            instrument(provider, conventions=conventions)
            try:
                for _ in range(2):
                    unit(None)
            finally:
                uninstrument()
            provider.shutdown()
            out[setting] = wire(exporter.kept)
        return out

    def run_map(self) -> int:
        """Runs left in the per-run maps of every handler the tool made (otelchain's run map,
        OpenInference's spans by run, Traceloop's spans, the official invocation states) since
        the last ``mark()``: 0 once every run has ended, unless the tool keeps runs it should have
        dropped."""
        return sum(len(runs) for runs in self.handlers) - self._marked

    def mark(self) -> None:
        """Count the run map from here (a scenario does not inherit what an earlier one left)."""
        self._marked = sum(len(runs) for runs in self.handlers)

    def label(self) -> str:
        return {
            "otelchain": "otelchain instrument()",
            "openinference": "OpenInference instrumentor",
            "traceloop": "Traceloop instrumentor",
            "official": "OpenTelemetry instrumentor (official)",
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
    traced_provider, traced_exporter = make_provider("batch", keep=_WIRE_UNITS * len(plan))
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
            run_map=tool.run_map,
        )
    )
    sampled_provider, sampled_exporter = make_provider("batch", sampled=False)
    tool.leaks = _leaves_context(tool, sampled_provider, unit)

    def sampled_out() -> None:
        # the ambient context is put back after each call: a tool that leaves a context attached
        # when a run is sampled out (see _leaves_context) would otherwise carry it into the next
        # call, and into the other variants; every tool's sampled-out call pays this alike
        token = otel_context.attach(otel_context.get_current())
        try:
            unit(None)
        finally:
            otel_context.detach(token)

    variants.append(
        Variant(
            f"{tool.label()}, sampled out (Batch)",
            "sampled",
            sampled_out,
            sampled_of=traced,
            provider=sampled_provider,
            exporter=sampled_exporter,
            spans_per_unit=0,
            enter=lambda: tool.install(sampled_provider),
            exit=tool._off,
            run_map=tool.run_map,
        )
    )
    return variants


def _leaves_context(tool: Tool, provider: Any, unit: Callable[[Any], object]) -> bool:
    """Whether one call with every run sampled out leaves a context attached after it returns
    (the context is put back either way)."""
    token = otel_context.attach(otel_context.get_current())
    before = otel_context.get_current()
    off = tool.install(provider)
    try:
        unit(None)
    finally:
        off()
        leaked = otel_context.get_current() != before
        otel_context.detach(token)
    return leaked


def _spans(tool: Tool, per_run: int, official: int) -> int:
    """The spans a unit emits: one per run, except under the official instrumentation, which
    makes spans for model, tool, agent and top-level workflow runs only."""
    return official if tool.name == "official" else per_run


def chain_run(tool: Tool, quick: bool) -> Scenario:
    lam = RunnableLambda(lambda x: x)
    return Scenario(
        "langchain-core: one RunnableLambda run",
        "run",
        1,
        200 if quick else 1500,
        _variants(tool, lambda config: lam.invoke(1, config), 1),
        conventions=tool.conventions_wire(lambda config: lam.invoke(1, config)),
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
        _variants(tool, lambda config: outer.invoke(1, config), _spans(tool, 3, 1)),
        conventions=tool.conventions_wire(lambda config: outer.invoke(1, config)),
    )


def llm_run(tool: Tool, quick: bool) -> Scenario:
    model = ScriptedChat()
    messages = [SystemMessage("You are a concise geography assistant."), HumanMessage("Capital of France?")]

    def unit(config: Any) -> object:
        return model.invoke(messages, config, stop=["\n\n"])

    return Scenario(
        "langchain-core: chat model run, full attributes",
        "run",
        1,
        100 if quick else 700,
        _variants(tool, unit, 1),
        conventions=tool.conventions_wire(unit),
    )


def lcel_chain(tool: Tool, quick: bool) -> Scenario:
    """prompt | chat model | parser: a sequence run and its three step runs."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a concise geography assistant."), ("human", "Capital of {country}?")]
    )
    chain = prompt | ScriptedChat() | StrOutputParser()

    def unit(config: Any) -> object:
        return chain.invoke({"country": "France"}, config)

    scenario = Scenario(
        "langchain-core: LCEL chain (prompt, chat model, parser)",
        "trace",
        1,
        60 if quick else 400,
        _variants(tool, unit, _spans(tool, 4, 2)),
        conventions=tool.conventions_wire(unit),
    )
    if tool.name == "official":
        scenario.notes.append(
            "the official instrumentation makes a span for the sequence (a top-level workflow) "
            "and the chat model only, none for the prompt and the parser runs"
        )
    return scenario


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
        f"langchain-core: {tokens:,}-token chat stream",
        "token",
        tokens,
        3,
        _variants(tool, unit, 1),
        conventions=tool.conventions_wire(unit),
    )
    token_yardstick(scenario, model.tokens)
    return scenario


SCENARIOS: dict[str, Callable[[Tool, bool], Scenario]] = {
    "lc_chain": chain_run,
    "lc_nested": nested_runs,
    "lc_llm": llm_run,
    "lc_lcel": lcel_chain,
    "lc_stream": token_stream,
}


def burst(tool: Tool, runs: int, sample_every: int) -> dict[str, Any]:
    """``runs`` traced RunnableLambda runs into a discarding exporter (SDK-default Batch processor)."""
    lam = RunnableLambda(lambda x: x)
    per_run = len(capture(tool.install, lambda: lam.invoke(1)))
    provider, exporter = make_provider("batch")
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
        "spans_expected": (runs + warmup) * per_run,
        "spans_exported": exporter.count,
        "spans_lost": (runs + warmup) * per_run - exporter.count,
        "run_map_left": tool.run_map(),
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
    """Every selected scenario for one tool, as JSON-ready results (content captured by every
    tool: ``CONTENT_ENV`` is set while it runs)."""
    undo = content_mode()
    try:
        return _run(tool_name, quick, only, rounds, burst_runs, memory_calls, n)
    finally:
        undo()


def _run(
    tool_name: str,
    quick: bool,
    only: list[str] | None,
    rounds: int,
    burst_runs: int,
    memory_calls: int,
    n: int | None,
) -> dict[str, Any]:
    import langchain_core

    tool = Tool(tool_name)
    versions = {"langchain-core": langchain_core.__version__}
    from importlib.metadata import PackageNotFoundError, version

    for dist in (
        "opentelemetry-sdk",
        "openinference-instrumentation-langchain",
        "opentelemetry-instrumentation-langchain",
        "opentelemetry-instrumentation-genai-langchain",
        "opentelemetry-util-genai",
        "otelchain",
    ):
        with contextlib.suppress(PackageNotFoundError):
            versions[dist] = version(dist)
    out: dict[str, Any] = {
        "tool": tool_name,
        "versions": versions,
        "content": dict(CONTENT_ENV),
        "scenarios": [],
        "bursts": [],
    }
    for name, build in SCENARIOS.items():
        if only and name not in only:
            continue
        tool.mark()
        scenario = build(tool, quick)
        if tool.leaks:
            scenario.notes.append(
                f"{tool.label()} leaves a context attached when a run is sampled out (a later call "
                "runs inside it); the suite puts the ambient context back after each call"
            )
        measure(scenario, rounds, n)
        result = results(scenario, memory_calls if scenario.unit != "token" else 1)
        result["leaves_context_when_sampled_out"] = tool.leaks
        result["environment"] = f"{tool_name} env"
        result["key"] = name
        out["scenarios"].append(result)
    if burst_runs and (not only or "lc_burst" in only):
        tool.mark()
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
    parser.add_argument("--calls", type=int, default=None, help="calls per round (default: the scenario's)")
    parser.add_argument("--json", default="-", help="where to write the results ('-': stdout)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 11)
    burst_runs = args.burst if args.burst is not None else (5_000 if args.quick else 100_000)
    memory_calls = args.memory_calls if args.memory_calls is not None else (20 if args.quick else 200)
    out = run(args.tool, args.quick, args.only, rounds, burst_runs, memory_calls, args.calls)
    text = json.dumps(out, indent=1)
    if args.json == "-":
        print(text)
    else:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

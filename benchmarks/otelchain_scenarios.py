"""Scenarios on otelchain's own objects: what tracing adds to a run, against the raw SDK.

Each scenario is built by a function returning a `Scenario` whose variants are: the bare body
(where one exists), no callbacks, a no-op handler, one raw SDK span (the yardstick) per
processor, the SDK floor per processor (the raw SDK replaying exactly the spans and events the
traced run emits, around the untraced run), a minimal handler emitting the same spans from the same
callbacks (`PlanHandler`: the callback system's share), and otelchain's
`OpenTelemetryCallbackHandler` with the SDK's Simple and Batch processors, and the same handler on a
provider that samples every run out. Each scenario also records what otelchain's spans weigh on
the wire under each ``conventions`` setting (``CONVENTION_SETTINGS``). The burst scenario runs many
runs into a discarding exporter with memory sampled.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _harness import (
    CONVENTION_SETTINGS,
    CountingExporter,
    Scenario,
    Variant,
    capture,
    make_provider,
    plan_counts,
    replay,
    rss_kib,
    token_yardstick,
    wire,
)
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from otelchain.agents import AgentExecutor, ZeroShotAgent
from otelchain.callbacks import BaseCallbackHandler, CallbackManagerForChainRun
from otelchain.callbacks._runs import Run, RunTreeHandler
from otelchain.chains import Chain, LLMChain
from otelchain.chat_models import FakeListChatModel
from otelchain.llms import FakeListLLM
from otelchain.prompts import PromptTemplate
from otelchain.schema import HumanMessage, SystemMessage
from otelchain.tools import Calculator
from otelchain.tracing import OpenTelemetryCallbackHandler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from agent_callbacks import SEED_TOKENS  # the demo agent's token script

__all__ = ["SCENARIOS", "burst", "conventions_wire"]

_WIRE_UNITS = 3  # units whose spans the traced variant's exporter keeps for the wire figures


class Echo(Chain):
    """The smallest chain: one input, one output."""

    type_name = "echo"

    @property
    def input_keys(self) -> list[str]:
        return ["x"]

    @property
    def output_keys(self) -> list[str]:
        return ["y"]

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        return {"y": inputs["x"]}


class Outer(Chain):
    """A chain that runs an LLMChain (which runs a model): three nested runs."""

    type_name = "outer"

    def __init__(self, inner: LLMChain) -> None:
        super().__init__()
        self.inner = inner

    @property
    def input_keys(self) -> list[str]:
        return ["topic"]

    @property
    def output_keys(self) -> list[str]:
        return ["answer"]

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        child = run_manager.get_child() if run_manager is not None else None
        out = self.inner.call({"topic": inputs["topic"]}, callbacks=child)
        return {"answer": out["text"]}


class NoOp(BaseCallbackHandler):
    """Implements nothing: every event is the base class's no-op."""


class _PlanSpan:
    """A minimal run context: the span, made current by ``rm.activate()``, ids for run_info."""

    __slots__ = ("ctx", "end_attributes", "events", "span")

    def __init__(self, span: Any, end_attributes: dict[str, Any], events: list[Any]) -> None:
        self.span, self.end_attributes, self.events, self.ctx = span, end_attributes, events, None

    def context(self) -> Any:
        if self.ctx is None:
            self.ctx = trace.set_span_in_context(self.span)
        return self.ctx

    def attach(self) -> object:
        return otel_context.attach(self.context())

    def detach(self, token: Any) -> None:
        otel_context.detach(token)

    def trace_ids(self) -> tuple[str, str]:
        sc = self.span.get_span_context()
        return format(sc.trace_id, "032x"), format(sc.span_id, "016x")


class PlanHandler(RunTreeHandler):
    """The least a handler on otelchain's callbacks can do to emit the spans otelchain emits:
    each run starts the plan's next span with the plan's attributes (constants: no conversion),
    nested under its parent run's span and made current by ``rm.activate()``; the plan's events
    and the attributes known only at the end are added at the end. Its cost above the SDK floor
    is the callback system's share (event dispatch, the run tree, activation, run_info);
    otelchain above it is the handler's logic."""

    def __init__(self, provider: TracerProvider, plan: list[Any]) -> None:
        super().__init__()
        self.tracer = provider.get_tracer("bench")
        self.plan = plan
        self.next = 0

    def otelchain_run_context(self, run_id: Any) -> _PlanSpan | None:
        run = self.runs.get(run_id)
        return None if run is None else run.data  # type: ignore[no-any-return]

    def _on_run_start(self, run: Run) -> None:
        name, kind, attributes, end_attributes, events, _ = self.plan[self.next % len(self.plan)]
        self.next += 1
        parent = run.parent.data.context() if run.parent is not None and run.parent.data else None
        span = self.tracer.start_span(
            name, context=parent, kind=kind, attributes=attributes, start_time=run.start_ns
        )
        run.data = _PlanSpan(span, end_attributes, events)

    def _on_run_end(self, run: Run) -> None:
        state: _PlanSpan = run.data
        for event_name, event_attributes in state.events:
            state.span.add_event(event_name, event_attributes)
        if state.end_attributes:
            state.span.set_attributes(state.end_attributes)
        state.span.end(end_time=run.end_ns)


def _variants(
    unit: Callable[[Any], object],
    body: Callable[[], object] | None,
    spans_expected: int | None = None,
) -> list[Variant]:
    """The standard variant set; ``unit(callbacks)`` runs one unit of work with those callbacks."""
    variants: list[Variant] = []
    if body is not None:
        variants.append(Variant("bare body (no run)", "body", body))
    variants.append(Variant("no callbacks", "base", lambda: unit(None)))
    noop = [NoOp()]
    variants.append(Variant("no-op handler", "noop", lambda: unit(noop)))
    plan = _capture(unit)
    if spans_expected is not None and len(plan) != spans_expected:
        raise RuntimeError(f"expected {spans_expected} spans per unit, captured {len(plan)}")
    for processor, label in (("simple", "Simple"), ("batch", "Batch")):
        provider, exporter = make_provider(processor)
        tracer = provider.get_tracer("bench")

        def raw(tracer: Any = tracer) -> None:
            tracer.start_span("raw").end()

        variants.append(
            Variant(
                f"raw span ({label})",
                "raw",
                raw,
                processor,
                provider=provider,
                exporter=exporter,
                spans_per_unit=1,
            )
        )
        floor_provider, floor_exporter = make_provider(processor)
        sdk = replay(floor_provider.get_tracer("bench"), plan)

        def floor(sdk: Callable[[Callable[[], object]], None] = sdk) -> None:
            sdk(lambda: unit(None))

        traced_name = f"otelchain ({label})"
        floor_name = f"SDK floor, same spans ({label})"
        variants.append(
            Variant(
                floor_name,
                "floor",
                floor,
                processor,
                floor_of=traced_name,
                provider=floor_provider,
                exporter=floor_exporter,
                spans_per_unit=len(plan),
            )
        )
        minimal_provider, minimal_exporter = make_provider(processor)
        minimal = [PlanHandler(minimal_provider, plan)]
        variants.append(
            Variant(
                f"minimal handler, same spans ({label})",
                "minimal",
                lambda minimal=minimal: unit(minimal),
                processor,
                provider=minimal_provider,
                exporter=minimal_exporter,
                spans_per_unit=len(plan),
            )
        )
        keep = _WIRE_UNITS * len(plan) if processor == "batch" else 0
        traced_provider, traced_exporter = make_provider(processor, keep=keep)
        handler = OpenTelemetryCallbackHandler(traced_provider)
        callbacks = [handler]
        variants.append(
            Variant(
                traced_name,
                "traced",
                lambda callbacks=callbacks: unit(callbacks),
                processor,
                floor=floor_name,
                provider=traced_provider,
                exporter=traced_exporter,
                spans_per_unit=len(plan),
                events_per_unit=plan_counts(plan)[0],
                attributes_per_unit=plan_counts(plan)[1],
                run_map=lambda handler=handler: len(handler.runs),
            )
        )
        if processor == "batch":
            sampled_provider, sampled_exporter = make_provider(processor, sampled=False)
            sampled_handler = OpenTelemetryCallbackHandler(sampled_provider)
            sampled = [sampled_handler]
            variants.append(
                Variant(
                    f"otelchain, sampled out ({label})",
                    "sampled",
                    lambda sampled=sampled: unit(sampled),
                    processor,
                    sampled_of=traced_name,
                    provider=sampled_provider,
                    exporter=sampled_exporter,
                    spans_per_unit=0,
                    run_map=lambda handler=sampled_handler: len(handler.runs),
                )
            )
    return variants


def conventions_wire(unit: Callable[[Any], object]) -> dict[str, dict[str, Any]]:
    """What one unit's spans weigh on the wire under each of ``CONVENTION_SETTINGS``
    (``unit(callbacks)`` runs one unit with those callbacks)."""
    out: dict[str, dict[str, Any]] = {}
    for setting, conventions in CONVENTION_SETTINGS.items():
        provider, exporter = make_provider("simple", keep=10_000)
        handler = OpenTelemetryCallbackHandler(provider, conventions=conventions)
        for _ in range(2):
            unit([handler])
        provider.shutdown()
        out[setting] = wire(exporter.kept)
    return out


def _capture(unit: Callable[[Any], object]) -> list[Any]:
    """The spans one traced unit emits, as a replay plan."""

    holder: dict[str, Any] = {}

    def one() -> None:
        unit([holder["handler"]])

    def setup(provider: TracerProvider) -> Callable[[], None]:
        holder["handler"] = OpenTelemetryCallbackHandler(provider)
        return lambda: None

    return capture(setup, one)


def chain_run(quick: bool) -> Scenario:
    chain = Echo()

    def unit(callbacks: Any) -> object:
        return chain.call({"x": 1}, callbacks)

    body_inputs = {"x": 1}
    return Scenario(
        "one chain run",
        "run",
        1,
        300 if quick else 2000,
        _variants(unit, lambda: chain._call(dict(body_inputs), None), spans_expected=1),  # type: ignore[arg-type]
        conventions=conventions_wire(unit),
    )


def llm_chain(quick: bool) -> Scenario:
    """An ``LLMChain`` call of "1 + 1 =": a chain run and its LLM run."""
    chain = LLMChain(llm=FakeListLLM([" 2"]), prompt=PromptTemplate.from_template("1 + {number} ="))

    def unit(callbacks: Any) -> object:
        return chain.call({"number": 1}, callbacks)

    return Scenario(
        "LLMChain call (chain > LLM)",
        "trace",
        1,
        150 if quick else 1000,
        _variants(unit, None, spans_expected=2),
        conventions=conventions_wire(unit),
    )


def nested_runs(quick: bool) -> Scenario:
    llm = FakeListLLM(["Paris is the capital of France."])
    inner = LLMChain(llm=llm, prompt=PromptTemplate.from_template("Tell me about {topic}."))
    outer = Outer(inner)

    def unit(callbacks: Any) -> object:
        return outer.call({"topic": "Paris"}, callbacks)

    return Scenario(
        "three nested runs (chain > LLMChain > LLM)",
        "trace",
        1,
        100 if quick else 700,
        _variants(unit, None, spans_expected=3),
        conventions=conventions_wire(unit),
    )


def llm_run(quick: bool) -> Scenario:
    model = FakeListChatModel(["The capital of France is Paris."], model="gpt-4o-mini")
    messages = [SystemMessage("You are a concise geography assistant."), HumanMessage("Capital of France?")]
    params = {"temperature": 0.2, "max_tokens": 256, "top_p": 0.9}

    def unit(callbacks: Any) -> object:
        return model.call(messages, ["\n\n"], callbacks, **params)

    def body() -> object:
        return model._generate(messages, stop=["\n\n"], run_manager=None, **params)  # type: ignore[arg-type]

    return Scenario(
        "LLM run, full attributes (chat model)",
        "run",
        1,
        200 if quick else 1500,
        _variants(unit, body, spans_expected=1),
        conventions=conventions_wire(unit),
    )


def token_stream(quick: bool) -> Scenario:
    tokens = 1_000 if quick else 10_000
    script = [f" t{i % 100}" for i in range(tokens)]
    model = FakeListChatModel([script], model="gpt-4o-mini", streaming=True)
    messages = [HumanMessage("Count for me.")]

    def unit(callbacks: Any) -> object:
        n = 0
        for _ in model.stream(messages, None, callbacks):
            n += 1
        return n

    scenario = Scenario(
        f"{tokens:,}-token stream",
        "token",
        tokens,
        3,
        _variants(unit, None, spans_expected=1),
        conventions=conventions_wire(unit),
    )
    token_yardstick(scenario, script)
    return scenario


def seed_agent(quick: bool) -> Scenario:
    model = FakeListChatModel(SEED_TOKENS, streaming=True)
    tools = [Calculator()]
    llm_chain = LLMChain(llm=model, prompt=ZeroShotAgent.create_prompt(tools))
    agent = ZeroShotAgent(llm_chain=llm_chain, allowed_tools=["search"])
    executor = AgentExecutor.from_agent_and_tools(agent=agent, tools=tools)

    def unit(callbacks: Any) -> object:
        return executor.call({"input": "What is 2 to the power of 8"}, callbacks=callbacks)

    return Scenario(
        "the demo's agent (calculator, streamed tokens)",
        "trace",
        1,
        10 if quick else 60,
        _variants(unit, None),
        conventions=conventions_wire(unit),
    )


SCENARIOS: dict[str, Callable[[bool], Scenario]] = {
    "chain": chain_run,
    "llmchain": llm_chain,
    "nested": nested_runs,
    "llm": llm_run,
    "stream": token_stream,
    "agent": seed_agent,
}


def burst(runs: int, sample_every: int) -> dict[str, Any]:
    """``runs`` traced chain runs in a row into a discarding exporter behind the SDK's default
    BatchSpanProcessor: spans lost, the run map at the end, and resident memory sampled."""
    provider, exporter = make_provider("batch")
    handler = OpenTelemetryCallbackHandler(provider)
    chain, callbacks, inputs = Echo(), [handler], {"x": 1}
    for _ in range(1000):
        chain.call(inputs, callbacks)
    provider.force_flush()
    gc.collect()
    samples: list[tuple[int, int]] = [(0, rss_kib())]
    start_cpu, start_wall = time.thread_time(), time.perf_counter()
    done = 0
    while done < runs:
        for _ in range(min(sample_every, runs - done)):
            chain.call(inputs, callbacks)
        done = min(runs, done + sample_every)
        samples.append((done, rss_kib()))
    cpu, wall = time.thread_time() - start_cpu, time.perf_counter() - start_wall
    provider.force_flush()
    gc.collect()
    final = rss_kib()
    provider.shutdown()
    return _burst_result(
        "otelchain (Batch, SDK defaults)", runs, 1000, exporter, samples, final, len(handler.runs), cpu, wall
    )


def _burst_result(
    name: str,
    runs: int,
    warmup: int,
    exporter: CountingExporter,
    samples: list[tuple[int, int]],
    final: int,
    run_map: int,
    cpu: float,
    wall: float,
) -> dict[str, Any]:
    by_runs = dict(samples)
    mark = min((r for r in by_runs if r >= runs // 10 and r > 0), default=runs)
    growth = (by_runs[runs] - by_runs[mark]) / by_runs[mark] * 100 if by_runs.get(mark) else None
    return {
        "variant": name,
        "runs": runs,
        "spans_expected": runs + warmup,
        "spans_exported": exporter.count,
        "spans_lost": runs + warmup - exporter.count,
        "run_map_left": run_map,
        "rss_kib_samples": samples,
        "rss_kib_after_flush": final,
        "rss_growth_pct_from": mark,
        "rss_growth_pct": growth,
        "us_per_run_cpu": cpu / runs * 1e6,
        "runs_per_s_wall": runs / wall if wall else None,
    }

# ruff: noqa: RUF001  (the tables write ratios with the multiplication sign)
"""The benchmark suite (benchmarks/run.py) at smoke size: every scenario runs, no span is lost,
otelchain's run map is empty at the end, every traced variant has its sampled-out twin and its
weight on the wire, and run.py renders the tables from one run. Never a time: the figures are the
suite's job."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import _harness  # noqa: E402
import otelchain_scenarios  # noqa: E402

from otelchain.tracing import instrumented_handler  # noqa: E402


def _check(result: dict[str, Any]) -> None:
    traced = [row for row in result["rows"] if row["role"] == "traced"]
    assert traced, result["scenario"]
    for row in result["rows"]:
        if "spans_lost" in row:
            if row["role"] == "sampled":  # its provider samples every run out: nothing exported
                assert row["spans_expected"] == row["spans_exported"] == 0, row
            else:
                assert row["spans_expected"] > 0, row
            assert row["spans_lost"] == 0, row
        if "run_map_left" in row and row["run_map_left"] is not None:
            assert row["run_map_left"] == 0, row
    for row in traced:
        assert row["spans_per_unit"] >= 1
        assert row["floor_us"] is not None  # the SDK floor of the same spans was measured
    batch = next(row for row in traced if row["processor"] == "batch")
    assert "sampled_out_us" in batch  # the sampled-out twin was measured beside it
    wire = batch["wire"]  # measured on the spans the counting exporter received
    assert wire["spans"] == otelchain_scenarios._WIRE_UNITS * batch["spans_per_unit"]
    assert wire["bytes_per_span"] > 0
    assert wire["attributes_per_span"] >= 1


def _check_conventions(result: dict[str, Any]) -> None:
    """otelchain's spans weighed under each conventions setting; OpenInference alone writes
    fewer attributes than every scheme at once."""
    conventions = result["conventions"]
    assert list(conventions) == list(_harness.CONVENTION_SETTINGS)
    for w in conventions.values():
        assert w["spans"] >= 1
        assert w["bytes_per_span"] > 0
    every = conventions["gen_ai,openinference,otelchain"]
    assert conventions["openinference"]["attributes_per_span"] < every["attributes_per_span"]


@pytest.mark.parametrize("key", list(otelchain_scenarios.SCENARIOS))
def test_otelchain_scenario_loses_no_span(key: str) -> None:
    scenario = otelchain_scenarios.SCENARIOS[key](True)
    _harness.measure(scenario, rounds=1, n=2)
    result = _harness.results(scenario, memory_calls=0)
    _check(result)
    _check_conventions(result)
    if key in ("chain", "llm"):
        assert "untraced_dispatch_us" in result


def test_llm_chain_scenario_is_a_chain_and_its_llm_run() -> None:
    scenario = otelchain_scenarios.SCENARIOS["llmchain"](True)
    traced = next(v for v in scenario.variants if v.role == "traced")
    assert traced.spans_per_unit == 2


def test_seed_agent_scenario_traces_the_seed_agent() -> None:
    scenario = otelchain_scenarios.SCENARIOS["agent"](True)
    traced = next(v for v in scenario.variants if v.role == "traced")
    assert traced.spans_per_unit == 6  # executor, 2 x (llm_chain > chat model), calculator


def test_burst_loses_no_span_and_empties_the_run_map() -> None:
    out = otelchain_scenarios.burst(400, 100)
    assert out["spans_expected"] == 1400
    assert out["spans_lost"] == 0
    assert out["run_map_left"] == 0
    assert [runs for runs, _ in out["rss_kib_samples"]] == [0, 100, 200, 300, 400]


def test_wire_weighs_the_spans_in_otlp() -> None:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    provider, exporter = _harness.make_provider("simple", keep=2)
    tracer = provider.get_tracer("bench")
    for i in range(3):
        tracer.start_span("s", attributes={"a": "x" * 100, "i": i}).end()
    assert exporter.count == 3
    assert len(exporter.kept) == 2  # the first two it received
    w = _harness.wire(exporter.kept)
    request = encode_spans(exporter.kept)
    envelope = request.ByteSize() - sum(
        span.ByteSize() for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans
    )
    assert envelope > 0  # resource and scope: left out of the per-span figure
    assert w["bytes_per_span"] * 2 == request.ByteSize() - envelope
    assert w["bytes_per_span"] > 100  # the 100-character value is in it
    assert w["attributes_per_span"] == 2


def test_sampled_out_provider_drops_every_root_run() -> None:
    provider, exporter = _harness.make_provider("simple", sampled=False, keep=10)
    span = provider.get_tracer("bench").start_span("root")
    assert not span.is_recording()
    span.end()
    assert exporter.count == 0


def test_content_mode_is_set_for_the_run_and_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "NO_CONTENT")
    monkeypatch.setenv("OTELCHAIN_CONVENTIONS", "openinference")
    monkeypatch.delenv("TRACELOOP_TRACE_CONTENT", raising=False)
    undo = _harness.content_mode()
    assert os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] == "SPAN_ONLY"
    assert os.environ["TRACELOOP_TRACE_CONTENT"] == "true"
    assert "OTELCHAIN_CONVENTIONS" not in os.environ  # "default" measures the handler's default
    undo()
    assert os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] == "NO_CONTENT"
    assert os.environ["OTELCHAIN_CONVENTIONS"] == "openinference"
    assert "TRACELOOP_TRACE_CONTENT" not in os.environ


def test_langchain_scenarios_with_otelchain() -> None:
    import langchain_scenarios  # needs langchain-core (the test extra)

    out = langchain_scenarios.run("otelchain", True, None, rounds=1, burst_runs=300, memory_calls=0, n=2)
    assert [r["key"] for r in out["scenarios"]] == list(langchain_scenarios.SCENARIOS)
    for result in out["scenarios"]:
        _check(result)
        _check_conventions(result)
        assert result["leaves_context_when_sampled_out"] is False
    lcel = next(r for r in out["scenarios"] if r["key"] == "lc_lcel")
    assert next(x for x in lcel["rows"] if x["role"] == "traced")["spans_per_unit"] == 4  # a span per run
    (burst,) = out["bursts"]
    assert burst["spans_lost"] == 0
    assert burst["run_map_left"] == 0
    assert instrumented_handler() is None  # the suite switched otelchain off again


def test_run_renders_the_tables_from_one_run(tmp_path: Path) -> None:
    """``run.py --quick`` end to end at smoke size, with the peers whose environments are made
    (none in CI: making them installs packages)."""
    import json
    import os

    import run

    peers = [tool for tool in run.PEERS if run.peer_ready(tool)]
    argv = ["--quick", "--only", "llmchain", "lc_lcel", "--rounds", "1", "--calls", "2"]
    argv += ["--out", str(tmp_path), "--peers", *peers]
    environ = dict(os.environ)
    assert run.main(argv) == 0
    assert dict(os.environ) == environ  # the content mode was undone
    document = json.loads((tmp_path / "latest.json").read_text())
    assert sorted(document["langchain"]) == sorted(["otelchain", *peers])
    for tool, out in document["langchain"].items():
        (lcel,) = out["scenarios"]
        traced = next(x for x in lcel["rows"] if x["role"] == "traced")
        assert traced["spans_lost"] == 0, tool
        assert traced["wire"]["bytes_per_span"] > 0, tool
        assert "sampled_out_pct" in traced, tool
    md = (tmp_path / "latest.md").read_text()
    assert "sampled out µs (% of sampled)" in md
    assert "### On the wire: bytes / attributes per span" in md
    assert "| LLMChain call (chain > LLM) |" in md  # the conventions settings of otelchain's own objects
    assert "LLMChain call: overhead ≤ 3.25× a raw span per run" in md
    assert "a run the sampler drops costs ≤ 20% of a sampled one" in md
    if "official" in peers:
        assert "the official instrumentation's, one span per run" in md


def test_instructions_child_runs_a_variant_and_exits_cleanly() -> None:
    """The process `instructions.py` counts under Valgrind: one variant, a few calls, exit 0."""
    import subprocess

    done = subprocess.run(
        [sys.executable, str(BENCH / "instructions.py"), "--child", "chain", "traced", "otelchain", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not __import__("shutil").which("valgrind"), reason="valgrind is not installed")
def test_instructions_counts_what_the_calls_add() -> None:
    """Counted twice under callgrind (no calls, 20 calls): a traced chain run adds instructions,
    and the table reads them as the suite does."""
    import instructions

    with instructions.ThreadPoolExecutor(max_workers=2) as pool:
        per_call = instructions.per_call("chain", "traced", "otelchain", 20, None, pool)()
    assert 100_000 < per_call < 5_000_000  # a traced chain run: hundreds of thousands
    row = {"base": 100.0, "raw": 50.0, "noop": 110.0, "traced": 300.0, "sampled": 150.0}
    official = dict(row, traced=260.0)
    text = instructions.table({("lc_lcel", "otelchain"): row, ("lc_lcel", "official"): official})
    assert "| lc_lcel | otelchain | 100 | 50 | 10 | 200 | 4.00 | 50 (25%) |" in text
    assert "÷ the official instrumentation's: 1.25" in text

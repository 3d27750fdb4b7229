"""The benchmark suite (benchmarks/run.py) at smoke size: every scenario runs, no span is lost
and otelchain's run map is empty at the end. Never a time: the figures are the suite's job."""

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
            assert row["spans_expected"] > 0, row
            assert row["spans_lost"] == 0, row
        if "run_map_left" in row and row["run_map_left"] is not None:
            assert row["run_map_left"] == 0, row
    for row in traced:
        assert row["spans_per_unit"] >= 1
        assert row["floor_us"] is not None  # the SDK floor of the same spans was measured


@pytest.mark.parametrize("key", list(otelchain_scenarios.SCENARIOS))
def test_otelchain_scenario_loses_no_span(key: str) -> None:
    scenario = otelchain_scenarios.SCENARIOS[key](True)
    _harness.measure(scenario, rounds=1, n=2)
    result = _harness.results(scenario, memory_calls=0)
    _check(result)
    if key in ("chain", "llm"):
        assert "untraced_dispatch_us" in result


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


def test_langchain_scenarios_with_otelchain() -> None:
    import langchain_scenarios  # needs langchain-core (the test extra)

    out = langchain_scenarios.run("otelchain", True, None, rounds=1, burst_runs=300, memory_calls=0, n=2)
    assert [r["key"] for r in out["scenarios"]] == list(langchain_scenarios.SCENARIOS)
    for result in out["scenarios"]:
        _check(result)
    (burst,) = out["bursts"]
    assert burst["spans_lost"] == 0
    assert burst["run_map_left"] == 0
    assert instrumented_handler() is None  # the suite switched otelchain off again

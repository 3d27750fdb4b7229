"""The collector's policies do what collector-config.yaml says, checked in what Jaeger stored:
credentials are deleted and user / session ids hashed or replaced before Jaeger sees them, and the
config's tail sampling (enabled as its comment says) keeps every trace with an error and about the
configured share of the others."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.trace import StatusCode

from otelchain.callbacks import CallbackManagerForChainRun
from otelchain.llms import FakeListLLM
from tests._servers.collector_jaeger import (
    CONFIG_PATH,
    Collector,
    Jaeger,
    StoredSpan,
    commented_block,
    running_collector,
    write_overlay,
)
from tests.helpers import Boom, XYChain
from tests.helpers.export import traced_to

USER, SESSION, THREAD = "alice@example.com", "sess-4242-secret-session", "thread-77"
CREDENTIAL = "sk-collector-test-0123456789abcdef"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _all_values(span: StoredSpan) -> str:
    return json.dumps([span.attributes, span.events], default=str)


@pytest.mark.parametrize("conventions", ["gen_ai", "all"])
def test_collector_redacts_before_jaeger_sees_it(
    conventions: str, collector: Collector, jaeger: Jaeger
) -> None:
    """The default (GenAI) spans carry the thread id as `gen_ai.conversation.id`; with every vocabulary
    on they also carry `user.id`, `session.id` and the raw `metadata` JSON."""
    service = f"otelchain-e2e-redaction-{conventions}"
    metadata = {"user_id": USER, "session_id": SESSION, "thread_id": THREAD, "team": "search"}
    endpoint = collector.otlp_http_endpoint
    with traced_to(endpoint, "http/protobuf", service, conventions=conventions) as (provider, memory):
        FakeListLLM(["ok"]).call("hi", metadata=metadata)
        # Another instrumentation in the same app, which does not redact: the collector must.
        other = {
            "http.request.header.authorization": f"Bearer {CREDENTIAL}",
            "http.request.header.cookie": f"session={CREDENTIAL}",
            "openai.api_key": CREDENTIAL,
            "db.password": CREDENTIAL,
            "oauth.access_token": CREDENTIAL,
            "enduser.id": USER,
            "gen_ai.request.model": "gpt-test",
            "http.request.method": "POST",
        }
        tracer = provider.get_tracer("other-instrumentation")
        with tracer.start_as_current_span("POST /v1/chat", attributes=other):
            pass
    sent = memory.get_finished_spans()
    [sent_llm] = [s for s in sent if s.name != "POST /v1/chat"]
    sent_attrs = dict(sent_llm.attributes or {})
    assert THREAD in json.dumps(sent_attrs)  # the app did send the raw ids
    if conventions == "all":
        assert USER in json.dumps(sent_attrs) and SESSION in json.dumps(sent_attrs)

    stored = []
    for trace_id in {format(s.context.trace_id, "032x") for s in sent if s.context}:
        stored.extend(jaeger.trace(trace_id, expect=1))
    assert sorted(s.name for s in stored) == sorted(s.name for s in sent)
    for span in stored:
        text = _all_values(span)
        for raw in (USER, SESSION, THREAD, CREDENTIAL):
            assert raw not in text, f"{raw!r} reached Jaeger in {span.name}: {text}"

    [llm] = [s for s in stored if s.name == sent_llm.name]
    assert llm.attributes["gen_ai.conversation.id"] == _sha256(THREAD)
    if conventions == "all":
        assert llm.attributes["user.id"] == _sha256(USER)
        assert llm.attributes["session.id"] == _sha256(SESSION)
        stored_metadata = llm.attributes["metadata"]
        assert stored_metadata.count("<redacted>") == 3, stored_metadata
        assert json.loads(stored_metadata)["team"] == "search"
    # Everything else passes untouched.
    hashed = {"gen_ai.conversation.id", "user.id", "session.id", "metadata"}
    assert {k: v for k, v in llm.attributes.items() if k not in hashed} == {
        k: list(v) if isinstance(v, tuple) else v for k, v in sent_attrs.items() if k not in hashed
    }

    [other_span] = [s for s in stored if s.name == "POST /v1/chat"]
    assert other_span.attributes == {
        "enduser.id": _sha256(USER),
        "gen_ai.request.model": "gpt-test",
        "http.request.method": "POST",
    }


class _MaybeFailing(XYChain):
    """A chain that runs one child step; when it fails the child's error is caught, so only the
    child span is an error (the trace has an error deep inside, its root is fine)."""

    type_name = "maybe_failing"

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        if inputs["x"] == "fail":
            try:
                Boom(RuntimeError("step failed")).call({"x": 1}, callbacks=run_manager.get_child())
            except RuntimeError:
                return {"y": "recovered"}
        return {"y": "ok"}


def _sampling_overlay(path: Path) -> Path:
    """Enable the config's commented tail_sampling as its comment says: last processor of traces.
    The collector's log keeps every line (no log sampling), so the debug exporter's counts add up."""
    config = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    processors = [*config["service"]["pipelines"]["traces"]["processors"], "tail_sampling"]
    service = {
        "pipelines": {"traces": {"processors": processors}},
        "telemetry": {"logs": {"sampling": {"enabled": False}}},
    }
    return write_overlay(path, {"processors": commented_block("tail_sampling:"), "service": service})


def _debug_span_count(collector: Collector) -> int:
    """Spans the collector's debug exporter (a pipeline exporter beside Jaeger's) has passed on."""
    return sum(int(n) for n in re.findall(r'"spans": (\d+)', collector.log_text()))


def test_tail_sampling_keeps_every_error_and_the_configured_share(jaeger: Jaeger, tmp_path: Path) -> None:
    sampling = commented_block("tail_sampling:")["tail_sampling"]
    percent = next(p for p in sampling["policies"] if p["type"] == "probabilistic")["probabilistic"]
    share = percent["sampling_percentage"] / 100
    service = "otelchain-e2e-tail-sampling"
    # 300 traces without an error and 40 with one (in a child span), interleaved.
    plan = (["fail"] + ["go"] * 7) * 40 + ["go"] * 20
    started = time.time_ns()
    with (
        running_collector(tmp_path, jaeger, _sampling_overlay(tmp_path / "sampling.yaml")) as collector,
        traced_to(collector.otlp_grpc_endpoint, "grpc", service) as (provider, memory),
    ):
        chain = _MaybeFailing()
        for x in plan:
            chain.call({"x": x})
        assert provider.force_flush(10_000)
        # A last error trace, sent after all the others: decisions are taken in arrival order, so once
        # it reached Jaeger every other trace has been decided and passed to the exporters.
        info = chain.call({"x": "fail"}).run_info
        assert info is not None and provider.force_flush(10_000)
        last = info.trace_id
        sent_traces: dict[str, list[str]] = {}
        failing = set()
        for span in memory.get_finished_spans():
            assert span.context is not None
            trace_id = format(span.context.trace_id, "032x")
            sent_traces.setdefault(trace_id, []).append(span.name)
            if span.status.status_code is StatusCode.ERROR:
                failing.add(trace_id)
        assert len(sent_traces) == len(plan) + 1 and len(failing) == plan.count("fail") + 1
        assert last in failing

        deadline = time.monotonic() + 60  # decision_wait (10 s) + the exporter's 2 s batches, with room
        while True:
            stored = jaeger.spans_of(service, since_ns=started)
            ids = {s.trace_id for s in stored}
            if last in ids and len(stored) == _debug_span_count(collector):
                break  # everything the collector passed on is in Jaeger
            if time.monotonic() > deadline:
                where = "among them" if last in ids else "not among them (an error trace dropped?)"
                pytest.fail(
                    f"sampled traces did not settle: {len(stored)} spans of {len(ids)} traces stored, "
                    f"{_debug_span_count(collector)} passed on, the last trace {where}:\n"
                    + collector.process.log_tail()
                )
            time.sleep(0.25)

    assert failing <= ids, f"{len(failing - ids)} error traces dropped"
    for trace_id in ids:  # kept traces are kept whole
        got = sorted(s.name for s in stored if s.trace_id == trace_id)
        assert got == sorted(sent_traces[trace_id]), trace_id
    kept_ok = len(ids - failing)
    n_sent_ok = len(sent_traces) - len(failing)
    mean, sd = n_sent_ok * share, math.sqrt(n_sent_ok * share * (1 - share))
    assert mean - 5 * sd <= kept_ok <= mean + 5 * sd, (kept_ok, n_sent_ok, share)

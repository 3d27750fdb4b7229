"""One trace across two processes, read back from the real Phoenix: examples/across_services.py runs
an agent whose tool calls a second process (a Starlette service with its own SDK and the ASGI
middleware); both export to the same loopback Phoenix, and the service's SERVER span nests under
the tool's ``execute_tool`` span in the agent's trace."""

from __future__ import annotations

import re

from tests._servers.backends import Phoenix, printed_trace_id, run_example


def test_service_span_nests_under_the_tool_span_in_phoenix(phoenix: Phoenix) -> None:
    proc = run_example("across_services.py", OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.base_url)
    assert "Sunny, 21°C." in proc.stdout
    trace_id = printed_trace_id(proc.stdout)
    spans = phoenix.spans(trace_id, expect=7)
    by_name = {s["name"]: s for s in spans}
    assert sorted(by_name) == sorted(
        ["invoke_agent agent_executor", "llm_chain", "chat fake-chat", "execute_tool weather", "GET /weather"]
    ), [s["name"] for s in spans]
    assert len(spans) == 7  # executor, 2 chains, 2 chats, the tool, the service's server span
    tool, server = by_name["execute_tool weather"], by_name["GET /weather"]
    assert server["parent_id"] == tool["context"]["span_id"]
    assert {s["context"]["trace_id"] for s in spans} == {trace_id}
    # The header the service received names the tool's span.
    sent = re.search(r"traceparent=00-([0-9a-f]{32})-([0-9a-f]{16})-", proc.stdout)
    assert sent and sent.groups() == (trace_id, tool["context"]["span_id"])


def test_without_a_backend_the_ids_still_show_the_nesting() -> None:
    proc = run_example("across_services.py")
    trace_id = printed_trace_id(proc.stdout)
    # Two trees with the same trace id: the agent's, and the service's printed by its own process.
    assert proc.stdout.count(f"trace {trace_id}") == 2
    assert "└── 1:chain:agent_executor" in proc.stdout and "└── GET /weather" in proc.stdout
    sent = re.search(r"traceparent=00-([0-9a-f]{32})-[0-9a-f]{16}-", proc.stdout)
    assert sent and sent.group(1) == trace_id

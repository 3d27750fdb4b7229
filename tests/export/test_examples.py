"""The export examples run as a user runs them (a subprocess, no key) and print meaningful output;
the OTLP ones are also pointed at the real Phoenix and the trace they print is read back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests._servers.backends import Phoenix, free_port, printed_trace_id, run_example

ROOT = Path(__file__).resolve().parents[2]
TREE_LINE = re.compile(
    r"^(?P<indent>[│ ]*)[└├]── (?:\d+:)?(?P<name>.+?)  (?:\d+(?:\.\d+)?m?s|\d+m\d\ds)  (?P<rest>.*)$"
)


@dataclass
class Node:
    """One span line of a printed ConsoleSpanTreeExporter tree."""

    name: str
    rest: str
    children: list[Node] = field(default_factory=list)


def parse_trees(out: str) -> dict[str, Node]:
    """trace id -> root node, from the `trace <id>` blocks of the console span tree (run spans
    named ``type:name`` without their execution order)."""
    trees: dict[str, Node] = {}
    stack: list[Node] = []
    trace_id = None
    for line in out.splitlines():
        if match := re.fullmatch(r"trace ([0-9a-f]{32})", line.strip()):
            trace_id, stack = match.group(1), []
            continue
        match = TREE_LINE.match(line)
        if not match or trace_id is None:
            continue
        depth = len(match.group("indent")) // 4
        node = Node(match.group("name"), match.group("rest"))
        del stack[depth:]
        if stack:
            stack[-1].children.append(node)
        else:
            trees[trace_id] = node
        stack.append(node)
    return trees


def shape(node: Node) -> tuple[str, list[object]]:
    return (node.name, [shape(c) for c in node.children])


SEED_TREE = (
    "chain:agent_executor",
    [
        ("chain:llm_chain", [("llm:fake-chat", [])]),
        ("tool:calculator", []),
        ("chain:llm_chain", [("llm:fake-chat", [])]),
    ],
)


def test_console_spans() -> None:
    out = run_example("console_spans.py").stdout
    assert "answer: Paris is the capital of France." in out
    trees = parse_trees(out)
    root = trees[printed_trace_id(out)]
    assert shape(root) == ("chain:llm_chain", [("llm:fake-chat", [])])
    chat = root.children[0]
    assert "streamed 6" in chat.rest and "/ 6 out" in chat.rest


def test_existing_app_constructor_vs_request_scoping() -> None:
    out = run_example("existing_app.py").stdout
    constructor, request, untraced = out.split("== ")[1:]
    assert [shape(t) for t in parse_trees(constructor).values()] == [("llm:fake-chat", [])]
    assert [shape(t) for t in parse_trees(request).values()] == [("chain:llm_chain", [("llm:fake-chat", [])])]
    assert parse_trees(untraced) == {} and "trace " not in untraced
    assert "reply: Try turning it off and on again." in constructor
    assert "reply: Your order ships tomorrow." in untraced


def test_agent_spans_keeps_the_seed_output_and_adds_the_tree() -> None:
    out = run_example("agent_spans.py").stdout
    assert "handleAgentAction" in out and "{'output': '256'}" in out  # the seed's own handlers
    assert re.search(r"token \{'token': ' calculator'\}", out)
    root = parse_trees(out)[printed_trace_id(out)]
    assert shape(root) == SEED_TREE
    # the scripted replies stream two empty chunks each (as the seed's do): they carry no text, so
    # they are not counted as streamed tokens (23 and 11 chunks, 21 and 9 tokens)
    assert "streamed 21" in root.children[0].children[0].rest
    assert "streamed 9" in root.children[2].children[0].rest


def test_otlp_export_without_endpoint_prints_the_tree() -> None:
    proc = run_example("otlp_export.py")
    assert "OTEL_EXPORTER_OTLP_ENDPOINT is not set" in proc.stderr
    assert shape(parse_trees(proc.stdout)[printed_trace_id(proc.stdout)]) == SEED_TREE


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_otlp_export_reaches_phoenix(protocol: str, phoenix: Phoenix) -> None:
    base = phoenix.base_url if protocol == "http/protobuf" else phoenix.otlp_grpc_endpoint
    proc = run_example(
        "otlp_export.py",
        OTEL_EXPORTER_OTLP_ENDPOINT=base,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{SECRET}",
    )
    assert SECRET not in proc.stdout + proc.stderr
    assert "{'output': '256'}" in proc.stdout and "is not set" not in proc.stderr
    assert "trace " not in proc.stdout  # exported, not printed
    spans = phoenix.spans(printed_trace_id(proc.stdout), expect=6)
    assert sorted(s["name"] for s in spans) == sorted(
        [
            *("invoke_agent agent_executor", "execute_tool calculator"),
            *("llm_chain", "llm_chain", "chat fake-chat", "chat fake-chat"),
        ]
    )


SECRET = "sk-header-secret-0123456789"


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_otlp_export_to_a_dead_collector_still_works_and_exits(protocol: str) -> None:
    proc = run_example(
        "otlp_export.py",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer%20{SECRET},x-api-key={SECRET}",
    )
    assert "{'output': '256'}" in proc.stdout
    # It exits (run_example's 60 s timeout guards a hang): the exit flush gives up at its bound,
    # which tracing/test_configure.py::test_exit_flush_gives_up_at_its_bound pins without a clock.
    assert SECRET not in proc.stdout + proc.stderr  # export errors are logged, credentials are not


def test_web_request_server_span_parents_the_runs() -> None:
    out = run_example("web_request.py").stdout
    status, body = out.splitlines()[0].split(" ", 1)
    assert status == "200" and "'answer': 'Spans nest by run.'" in body
    trace_id = re.search(r"'trace_id': '([0-9a-f]{32})'", body)
    assert trace_id, body
    root = parse_trees(out)[trace_id.group(1)]
    assert shape(root) == ("GET /ask", [("chain:llm_chain", [("llm:fake-chat", [])])])


def test_web_request_trace_in_phoenix(phoenix: Phoenix) -> None:
    out = run_example("web_request.py", OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.base_url).stdout
    match = re.search(r"'trace_id': '([0-9a-f]{32})', 'run_span_id': '([0-9a-f]{16})'", out)
    assert match, out
    spans = {s["name"]: s for s in phoenix.spans(match.group(1), expect=3)}
    assert set(spans) == {"GET /ask", "invoke_workflow llm_chain", "chat fake-chat"}
    server = spans["GET /ask"]
    assert server["parent_id"] is None
    assert spans["invoke_workflow llm_chain"]["parent_id"] == server["context"]["span_id"]
    assert spans["invoke_workflow llm_chain"]["context"]["span_id"] == match.group(2)
    assert spans["chat fake-chat"]["parent_id"] == match.group(2)
    assert server["span_kind"] == "UNKNOWN"  # not an OpenInference span, but kept in the tree
    assert server["attributes"]["http.target"] == "/ask"
    assert server["attributes"]["http.status_code"] == 200

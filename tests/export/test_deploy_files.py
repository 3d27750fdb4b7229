"""Structural checks of collector-config.yaml and docker-compose.yml, and the redaction regex run on
the `metadata` attribute otelchain writes. The real collector validates and runs the same config in
test_collector.py and test_collector_jaeger_e2e.py (built from deploy/otelcol-builder.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._servers.collector_jaeger import commented_block
from tests.helpers import make_traced

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "collector-config.yaml"
COMPOSE_PATH = ROOT / "docker-compose.yml"


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return _load(CONFIG_PATH)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE_PATH)


def _kind(component_id: str) -> str:
    """`otlp/jaeger` -> `otlp`: the component type before the optional `/name`."""
    return component_id.split("/", 1)[0]


def _port(endpoint: str) -> int:
    match = re.fullmatch(r"(?:[\w.\-]*|\[[0-9a-fA-F:]*\]):(\d+)", endpoint)
    assert match, f"endpoint {endpoint!r} is not host:port"
    return int(match.group(1))


def _published(compose: dict[str, Any], service: str) -> dict[int, tuple[str, int]]:
    """Container port -> (host ip, host port) for the service's `ports` entries."""
    out: dict[int, tuple[str, int]] = {}
    for entry in compose["services"][service].get("ports", []):
        parts = str(entry).split("/")[0].split(":")
        assert len(parts) == 3, f"{service}: port {entry!r} should be IP:HOST:CONTAINER"
        ip, host, container = parts
        out[int(container)] = (ip, int(host))
    return out


def _collector_service(compose: dict[str, Any]) -> str:
    names = [n for n, s in compose["services"].items() if "opentelemetry-collector" in s["image"]]
    assert len(names) == 1, f"expected one collector service, got {names}"
    return names[0]


def test_pipelines_reference_defined_components(config: dict[str, Any]) -> None:
    pipelines = config["service"]["pipelines"]
    assert "traces" in pipelines
    for name, pipeline in pipelines.items():
        assert pipeline.get("receivers"), f"pipeline {name} has no receivers"
        assert pipeline.get("exporters"), f"pipeline {name} has no exporters"
        for section in ("receivers", "processors", "exporters"):
            defined = config.get(section) or {}
            for ref in pipeline.get(section, []):
                assert ref in defined, f"pipeline {name} uses undefined {section[:-1]} {ref!r}"
    for ext in config["service"].get("extensions", []):
        assert ext in (config.get("extensions") or {}), f"service uses undefined extension {ext!r}"


def test_config_has_the_required_components(config: dict[str, Any]) -> None:
    traces = config["service"]["pipelines"]["traces"]
    protocols = config["receivers"]["otlp"]["protocols"]
    assert _port(protocols["grpc"]["endpoint"]) == 4317
    assert _port(protocols["http"]["endpoint"]) == 4318
    processors = traces["processors"]
    assert processors[0] == "memory_limiter", "memory_limiter must run first"
    assert "batch" not in map(_kind, processors), "batching is done by the exporters (sending_queue.batch)"
    assert "health_check" in config["service"]["extensions"]
    exporters = {_kind(e): e for e in traces["exporters"]}
    assert "debug" in exporters
    assert config["exporters"][exporters["otlp_grpc"]]["endpoint"] == "jaeger:4317"
    for name, exporter in config["exporters"].items():
        if _kind(name) in ("otlp_grpc", "otlp_http"):
            batch = exporter["sending_queue"]["batch"]
            assert batch["min_size"] <= batch["max_size"] <= exporter["sending_queue"]["queue_size"]
            assert exporter["sending_queue"]["sizer"] == "items", "batch sizes are in spans"
    # The commented second backend example is there for users to copy.
    assert re.search(r"^\s*#\s*otlp_grpc/\w+:", CONFIG_PATH.read_text(encoding="utf-8"), re.MULTILINE)


# Component types of the current collector-contrib release; deprecated aliases are refused.
CURRENT = {
    "receivers": {"otlp"},
    "processors": {"memory_limiter", "attributes", "transform", "tail_sampling", "redaction", "filter"},
    "exporters": {"otlp_grpc", "otlp_http", "debug"},
    "extensions": {"health_check"},
}
DEPRECATED = {"otlp": "otlp_grpc", "otlphttp": "otlp_http", "logging": "debug"}


def test_component_names_are_current(config: dict[str, Any]) -> None:
    text = CONFIG_PATH.read_text(encoding="utf-8")
    for section, allowed in CURRENT.items():
        for name in config.get(section) or {}:
            kind = _kind(name)
            if section == "exporters":
                assert kind not in DEPRECATED, f"{name}: deprecated, use {DEPRECATED[kind]}"
            assert kind in allowed, f"{section[:-1]} {name!r} is not a known current component"
    for old in ("otlp/", "otlphttp/", "otlphttp:", "logging:"):
        assert f"# {old}" not in text, f"a commented example still uses {old}"


def test_tail_sampling_is_ready_to_enable(config: dict[str, Any]) -> None:
    sampling = commented_block("tail_sampling:")["tail_sampling"]
    policies = {p["type"]: p for p in sampling["policies"]}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"], "every error trace is kept"
    assert 0 < policies["probabilistic"]["probabilistic"]["sampling_percentage"] < 100
    assert "tail_sampling" not in config["processors"], "commented: off until the user enables it"
    enabled = dict(config["processors"]) | {"tail_sampling": sampling}
    assert set(CURRENT["processors"]) >= {_kind(p) for p in enabled}


def test_metadata_user_and_session_ids_are_redacted(config: dict[str, Any]) -> None:
    """Run the collector's replace_pattern on the `metadata` attribute otelchain really writes."""
    from otelchain.llms import FakeListLLM

    traces = config["service"]["pipelines"]["traces"]
    transform = next(p for p in traces["processors"] if _kind(p) == "transform")
    [statement] = config["processors"][transform]["trace_statements"]
    call = re.fullmatch(
        r'replace_pattern\(span\.attributes\["metadata"\], "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\)',
        statement,
    )
    assert call, statement
    unescape = lambda s: re.sub(r"\\(.)", r"\1", s)  # noqa: E731  (OTTL string escapes)
    pattern = re.compile(unescape(call.group(1)))
    replacement = unescape(call.group(2)).replace("$$", "$")  # $$ escapes $ from env expansion
    replacement = re.sub(r"\$(\d)", r"\\\1", replacement)

    traced = make_traced()
    metadata = {"user_id": "alice@example.com", "session_id": "sess-42", "thread_id": 7, "team": "search"}
    FakeListLLM(["ok"]).call("hi", callbacks=[traced.handler], metadata=metadata)
    [span] = traced.spans
    raw = str((span.attributes or {})["metadata"])
    assert "alice@example.com" in raw
    redacted = pattern.sub(replacement, raw)
    for secret in ("alice@example.com", "sess-42", ": 7"):
        assert secret not in redacted, redacted
    assert '"team": "search"' in redacted.replace('":"', '": "')
    assert redacted.count("<redacted>") == 3
    hashed = {
        a["key"] for a in config["processors"]["attributes/redaction"]["actions"] if a["action"] == "hash"
    }
    assert {"user.id", "session.id"} <= hashed


def test_redaction_processor_removes_secret_looking_attributes(config: dict[str, Any]) -> None:
    traces = config["service"]["pipelines"]["traces"]
    redactors = [p for p in traces["processors"] if _kind(p) in ("attributes", "redaction", "transform")]
    assert redactors, "no processor strips secret-looking attributes"
    actions = config["processors"][redactors[0]]["actions"]
    assert all(a["action"] in ("delete", "hash") for a in actions)
    keys = [a["key"] for a in actions if "key" in a]
    assert "http.request.header.authorization" in keys
    patterns = [re.compile(a["pattern"]) for a in actions if "pattern" in a and a["action"] == "delete"]
    assert patterns, "expected a regex delete action for credential-looking keys"
    for secret in ("openai.api_key", "llm.API-KEY", "db.password", "client_secret", "oauth.access_token"):
        assert any(p.fullmatch(secret) for p in patterns), f"{secret} would survive the collector"
    for ordinary in ("gen_ai.request.model", "llm.token_count.total", "new_token", "agent.action.0.tool"):
        assert not any(p.fullmatch(ordinary) for p in patterns), f"{ordinary} would be deleted"


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} is not pinned"
        assert re.match(r"\d+\.\d+", tag), f"{name}: tag {tag!r} is not a version"


def test_compose_ports_match_the_collector_receivers(compose: dict[str, Any], config: dict[str, Any]) -> None:
    collector = _collector_service(compose)
    published = _published(compose, collector)
    protocols = config["receivers"]["otlp"]["protocols"]
    for proto in ("grpc", "http"):
        port = _port(protocols[proto]["endpoint"])
        assert port in published, f"collector {proto} receiver port {port} is not published"
        assert published[port][1] == port, "README and examples assume the standard host ports"
    health_port = _port(config["extensions"]["health_check"]["endpoint"])
    assert health_port in published
    for service in compose["services"]:
        for ip, _host in _published(compose, service).values():
            assert ip == "127.0.0.1", f"{service} publishes on {ip}, not loopback only"


def test_compose_mounts_the_config(compose: dict[str, Any]) -> None:
    collector = compose["services"][_collector_service(compose)]
    mounts = [str(v).split(":") for v in collector["volumes"]]
    targets = {m[1] for m in mounts if Path(m[0]).name == CONFIG_PATH.name}
    assert targets, "collector-config.yaml is not mounted into the collector"
    assert any(f"--config={t}" in collector["command"] for t in targets), "collector not started with it"


def test_jaeger_ui_and_health_checks(compose: dict[str, Any], config: dict[str, Any]) -> None:
    services = compose["services"]
    jaeger = next(n for n, s in services.items() if s["image"].startswith("jaegertracing/"))
    assert 16686 in _published(compose, jaeger)
    assert services[jaeger]["image"].startswith("jaegertracing/jaeger:2."), "Jaeger v2"
    exporter = config["exporters"]["otlp_grpc/jaeger"]["endpoint"]
    assert exporter.split(":")[0] == jaeger, "the collector exports to a host that is not the Jaeger service"
    checks = [s["healthcheck"]["test"] for s in services.values() if "healthcheck" in s]
    assert checks, "no health check defined"
    probe = " ".join(str(part) for check in checks for part in check)
    health_port = _port(config["extensions"]["health_check"]["endpoint"])
    assert f"{_collector_service(compose)}:{health_port}" in probe, "collector health is not probed"
    assert f"{jaeger}:" in probe, "Jaeger health is not probed"

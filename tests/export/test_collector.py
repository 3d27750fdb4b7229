"""The collector built for collector-config.yaml (deploy/otelcol-builder.yaml) and Jaeger v2: the real
collector validates what users deploy (also with every commented example enabled, and refuses a typo),
holds exactly the components the config uses, docker-compose.yml runs the versions built here, and both
servers listen on 127.0.0.1 only."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._servers.backends import is_loopback, listening_addresses
from tests._servers.collector_jaeger import (
    COLLECTOR_LOCAL,
    CONFIG_PATH,
    JAEGER_GO_MOD,
    MANIFEST_PATH,
    Collector,
    Jaeger,
    binary,
    commented_block,
    write_overlay,
)

COMPOSE_PATH = CONFIG_PATH.parent / "docker-compose.yml"
SECTIONS = ("receivers", "processors", "exporters", "extensions")


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _validate(*configs: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(binary("OTELCOL")), "validate", *(f"--config={c}" for c in configs)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def everything_enabled() -> dict[str, Any]:
    """collector-config.yaml with every commented example enabled as its comments say: tail sampling
    as the last processor, the second backends added to the traces pipeline's exporters."""
    config = _yaml(CONFIG_PATH)
    config["processors"] |= commented_block("tail_sampling:")
    examples = commented_block("otlp_grpc/phoenix:") | commented_block("otlp_http/langfuse:")
    config["exporters"] |= examples
    traces = config["service"]["pipelines"]["traces"]
    traces["processors"].append("tail_sampling")
    traces["exporters"].extend(examples)
    return config


def test_the_collector_validates_the_shipped_config() -> None:
    for configs in ([CONFIG_PATH], [CONFIG_PATH, COLLECTOR_LOCAL]):
        proc = _validate(*configs)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_commented_example_validates_once_enabled(tmp_path: Path) -> None:
    path = write_overlay(tmp_path / "everything.yaml", everything_enabled())
    proc = _validate(path, env={"LANGFUSE_AUTH": "dXNlcjpwYXNz", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("typo", "fixed", "error"),
    [
        ("action: hash", "action: hsh", 'unsupported action "hsh"'),
        ("replace_pattern(", "replace_patern(", 'does not support the function "replace_patern"'),
        ("otlp_grpc/jaeger, debug]", "otlp_grpc/jaegr, debug]", "otlp_grpc/jaegr"),
    ],
)
def test_validate_refuses_a_typo(typo: str, fixed: str, error: str, tmp_path: Path) -> None:
    """The check can fail: one wrong word in an action, a function or a pipeline reference."""
    text = CONFIG_PATH.read_text(encoding="utf-8")
    assert typo in text
    path = tmp_path / "typo.yaml"
    path.write_text(text.replace(typo, fixed, 1), encoding="utf-8")
    proc = _validate(path)
    assert proc.returncode != 0
    assert error in proc.stdout + proc.stderr


def test_the_collector_has_exactly_the_components_the_config_uses() -> None:
    used = {
        section: {name.split("/")[0] for name in everything_enabled().get(section) or {}}
        for section in SECTIONS
    }
    proc = subprocess.run([str(binary("OTELCOL")), "components"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    built = yaml.safe_load(proc.stdout)
    assert {section: {c["name"] for c in built.get(section) or []} for section in SECTIONS} == used
    assert not built.get("connectors")


def _manifest_modules() -> list[tuple[str, str]]:
    """(module, version) of every component and provider the manifest builds in."""
    manifest = _yaml(MANIFEST_PATH)
    entries = [e["gomod"] for section in (*SECTIONS, "providers") for e in manifest.get(section) or []]
    return [(module, version) for module, version in (str(e).split() for e in entries)]


def _jaeger_versions() -> tuple[str, str]:
    """(module version in deploy/jaeger/go.mod, the Jaeger v2 release it is: v1.N.P is v2.(N-63).P)."""
    match = re.search(
        r"^\s*github\.com/jaegertracing/jaeger (v1\.(\d+)\.(\d+))\b", JAEGER_GO_MOD.read_text(), re.M
    )
    assert match, "deploy/jaeger/go.mod does not pin github.com/jaegertracing/jaeger"
    return match.group(1), f"2.{int(match.group(2)) - 63}.{match.group(3)}"


def _image(service_prefix: str) -> str:
    services = _yaml(COMPOSE_PATH)["services"].values()
    [image] = [s["image"] for s in services if s["image"].startswith(service_prefix)]
    return str(image)


def test_compose_pins_the_releases_the_manifests_build() -> None:
    release = str(_yaml(MANIFEST_PATH)["dist"]["version"])
    modules = _manifest_modules()
    assert {v for _, v in modules if v.startswith("v0.")} == {f"v{release}"}, "one Collector release"
    assert len({v for _, v in modules if v.startswith("v1.")}) == 1, "one release of the stable modules"
    assert (
        _image("otel/opentelemetry-collector-contrib:") == f"otel/opentelemetry-collector-contrib:{release}"
    )
    module, v2 = _jaeger_versions()
    assert module == "v1.75.0"
    assert _image("jaegertracing/jaeger:") == f"jaegertracing/jaeger:{v2}"
    pinned_in_comment = re.findall(r"opentelemetry-collector-contrib:([\d.]+)", CONFIG_PATH.read_text())
    assert set(pinned_in_comment) == {release}, "the config's docker validate line names another release"


def test_the_built_binaries_report_the_compose_versions() -> None:
    release = str(_yaml(MANIFEST_PATH)["dist"]["version"])
    collector = subprocess.run(
        [str(binary("OTELCOL")), "--version"], capture_output=True, text=True, timeout=30
    )
    assert collector.stdout.strip() == f"otelcol-otelchain version {release}", collector
    jaeger = subprocess.run([str(binary("JAEGER")), "version"], capture_output=True, text=True, timeout=30)
    info = json.loads(next(line for line in jaeger.stdout.splitlines() if line.startswith("{")))
    assert info["gitVersion"] == "v" + _image("jaegertracing/jaeger:").split(":")[1], jaeger


def test_collector_and_jaeger_listen_on_loopback_only(collector: Collector, jaeger: Jaeger) -> None:
    for pid, expected in (
        (collector.process.proc.pid, {collector.grpc_port, collector.http_port, collector.health_port}),
        (jaeger.process.proc.pid, {jaeger.otlp_grpc_port, jaeger.query_port}),
    ):
        listening = listening_addresses(pid)
        assert expected <= {port for _, port in listening}, listening
        assert all(is_loopback(ip) for ip, _ in listening), listening

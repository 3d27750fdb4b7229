"""Run OpenInference's own LangChain test suite with otelchain's handler in place of theirs.

Not part of CI: it installs many LangChain integrations into its own venv. Steps: download the
sdist of ``openinference-instrumentation-langchain`` (``pip download --no-deps --no-binary
:all:``), unpack it (it ships ``tests/`` and their cassettes), make a venv with otelchain, the
package and the suite's test dependencies, and run pytest with the ``otelchain_swap`` plugin,
which makes ``LangChainInstrumentor.instrument()`` install otelchain's handler the way
OpenInference installs its own tracer. Prints how many of the span-dependent tests (those that
read a tracer's spans) pass, and each failure with its first line.

    python benchmarks/openinference_suite/measure.py [--workdir DIR] [--version X.Y.Z]
        [--conventions openinference] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PACKAGE = "openinference-instrumentation-langchain"
# What the suite imports (its pyproject lists no test extra; these are the imports of tests/).
TEST_DEPS = [
    "pytest",
    "pytest-asyncio",
    "pytest-recording",
    "pytest-rerunfailures",
    "vcrpy",
    "respx",
    "numpy",
    "langchain",
    "langchain-classic",
    "langchain-community",
    "langchain-openai",
    "langchain-anthropic",
    "langchain-google-vertexai",
    "langgraph",
    "openinference-instrumentation",
    "openinference-semantic-conventions",
    "starlette",
    "uvicorn",
    "langsmith",
    "wrapt",
]


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def prepare(workdir: Path, version: str | None) -> tuple[Path, Path]:
    """The unpacked sdist and the venv's python (both reused when present)."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = f"{PACKAGE}=={version}" if version else PACKAGE
    sdists = sorted(workdir.glob("openinference_instrumentation_langchain-*.tar.gz"))
    if version:
        sdists = [s for s in sdists if f"-{version}.tar.gz" in s.name]
    if not sdists:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(workdir),
                spec,
            ]
        )
        sdists = sorted(workdir.glob("openinference_instrumentation_langchain-*.tar.gz"))
    sdist = sdists[-1]
    source = workdir / sdist.name.removesuffix(".tar.gz")
    if not source.exists():
        with tarfile.open(sdist) as tar:
            tar.extractall(workdir, filter="data")
    venv = workdir / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(python), "-m", "pip", "install", "-q", "-e", str(REPO), str(source), *TEST_DEPS])
    else:  # otelchain may have changed: reinstall it only
        run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(REPO)])
    return source, python


def measure(
    source: Path, python: Path, conventions: str | None, max_length: str | None, report: Path
) -> dict[str, object]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    for name in list(env):
        if name.startswith("OPENINFERENCE_") or name.startswith("OTELCHAIN_"):
            env.pop(name)
    if conventions:
        env["OTELCHAIN_SWAP_CONVENTIONS"] = conventions
    if max_length:
        env["OTELCHAIN_SWAP_MAX_ATTRIBUTE_LENGTH"] = max_length
    cmd = [
        str(python),
        "-m",
        "pytest",
        "tests",
        "-p",
        "otelchain_swap",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "-rN",
        "--junitxml",
        str(report),
        "-o",
        "junit_family=xunit1",
    ]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=source, env=env, check=False)
    return summarize(report)


def summarize(report: Path) -> dict[str, object]:
    tree = ET.parse(report)
    final: dict[str, tuple[str, str, bool]] = {}  # test id -> (outcome, reason, span-dependent)
    for case in tree.iter("testcase"):  # a rerun test appears once per attempt: the last counts
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome, reason = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = tag
                reason = (node.get("message") or node.text or "").strip().splitlines()[0][:200]
                break
        final[test_id] = (outcome, reason, props.get("span_dependent") == "1")
    total = len(final)
    dependent = [(t, o, r) for t, (o, r, dep) in final.items() if dep]
    passed = sum(1 for _, outcome, _ in dependent if outcome == "passed")
    return {
        "package": report.parent.name,
        "tests": total,
        "span_dependent": len(dependent),
        "span_dependent_passed": passed,
        "not_passed": [{"test": t, "outcome": o, "reason": r} for t, o, r in dependent if o != "passed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=REPO / ".openinference-suite")
    parser.add_argument("--version", help=f"{PACKAGE} version (default: the newest)")
    parser.add_argument("--conventions", help="the handler's conventions= (default: the handler's default)")
    parser.add_argument(
        "--max-attribute-length", help="the handler's max_attribute_length (a number or none)"
    )
    parser.add_argument("--json", type=Path, help="write the summary here")
    args = parser.parse_args()
    source, python = prepare(args.workdir.resolve(), args.version)
    report = source / "otelchain-junit.xml"
    summary = measure(source, python, args.conventions, args.max_attribute_length, report)
    summary["package"] = source.name
    summary["conventions"] = args.conventions or "default"
    summary["max_attribute_length"] = args.max_attribute_length or "default"
    skipped = sum(1 for item in summary["not_passed"] if item["outcome"] == "skipped")  # type: ignore[attr-defined]
    runnable = int(summary["span_dependent"]) - skipped  # type: ignore[call-overload]
    summary["span_dependent_run"] = runnable
    print(
        f"\n{source.name}: {summary['span_dependent_passed']} of the {runnable} span-dependent tests pass "
        f"({summary['span_dependent']} collected, {skipped} skipped by the suite itself; "
        f"{summary['tests']} tests in all), conventions={summary['conventions']}, "
        f"max_attribute_length={summary['max_attribute_length']}"
    )
    for item in summary["not_passed"]:  # type: ignore[attr-defined]
        print(f"  {item['outcome']:8} {item['test']}: {item['reason']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

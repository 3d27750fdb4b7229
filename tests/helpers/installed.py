"""The project's entry points as installed metadata, written from pyproject.toml.

The OpenTelemetry launcher finds otelchain's instrumentor and trace exporter through entry points,
which live in an installed distribution's metadata, not in the source tree. A subprocess given
`entry_points_path` on ``PYTHONPATH`` sees the entry points pyproject.toml declares now (as
``pip install`` writes them), also when the environment's own metadata is older than the checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["declared_entry_points", "entry_points_path"]


def declared_entry_points() -> dict[str, dict[str, str]]:
    """``{group: {name: "module:attribute"}}`` from pyproject.toml."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    return {group: dict(entries) for group, entries in project.get("entry-points", {}).items()}


def entry_points_path(directory: Path) -> str:
    """A directory holding an ``otelchain`` dist-info with the declared entry points; put it first
    on ``PYTHONPATH`` (the first distribution of a name wins)."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    info = directory / f"otelchain-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: otelchain\nVersion: {version}\n")
    lines = []
    for group, entries in declared_entry_points().items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {target}" for name, target in entries.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    return str(directory)

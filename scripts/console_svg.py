"""Render docs/console-verbose.svg and docs/console-tree.svg from a real run of the demo agent.

Runs examples/demo.py as a user would (colours forced, 100 columns, no OTLP endpoint), then lets
rich turn its ANSI output into SVG: the verbose log up to the first tool run, and the span tree.

    .venv/bin/python scripts/console_svg.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100


def demo_output() -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL", "OPENAI_", "NO_COLOR"))}
    env |= {"FORCE_COLOR": "1", "COLUMNS": str(WIDTH), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return proc.stdout


def save(ansi: str, path: Path, title: str) -> None:
    with open(os.devnull, "w") as sink:
        console = Console(record=True, width=WIDTH, force_terminal=True, color_system="standard", file=sink)
        console.print(Text.from_ansi(ansi.rstrip("\n")), crop=False, soft_wrap=True)
        console.save_svg(str(path), title=title)


def main() -> None:
    out = demo_output()
    lines = out.splitlines()
    plain = [Text.from_ansi(line).plain for line in lines]
    tree_at = next(i for i, line in enumerate(plain) if line.startswith("trace "))
    tool_end = next(i for i, line in enumerate(plain) if line.startswith("[tool/end]"))
    tree_end = next(i for i, line in enumerate(plain) if i > tree_at and line.startswith("models "))
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    verbose = "\n".join([*lines[: tool_end + 2], "\x1b[2m… (the second step and the finish follow)\x1b[0m"])
    save(verbose, docs / "console-verbose.svg", "verbose=True: the agent's run as it happens")
    save(
        "\n".join(lines[tree_at : tree_end + 1]),
        docs / "console-tree.svg",
        "the trace, printed when its root ends",
    )
    print(f"wrote {docs / 'console-verbose.svg'} and {docs / 'console-tree.svg'}")


if __name__ == "__main__":
    main()

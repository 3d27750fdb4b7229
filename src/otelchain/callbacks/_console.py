"""Verbose mode: LangChain's console format with execution-order breadcrumbs.

[chain/start] [1:chain:agent_executor > 2:chain:llm_chain] Entering Chain run with input:
{ ...json... }
[llm/end] [1:chain:agent_executor > 2:chain:llm_chain > 3:llm:openai] [1.20s] Exiting LLM run with output:
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import IO, Any

from otelchain._json import to_jsonable
from otelchain.callbacks._runs import Run, RunTreeHandler
from otelchain.schema import AgentAction, AgentFinish

__all__ = ["ConsoleCallbackHandler", "default_console_handler"]

_COLORS = {"start": "32", "end": "34", "error": "31", "action": "35"}  # green, blue, red, magenta
_TITLES = {"llm": "LLM", "chain": "Chain", "tool": "Tool", "retriever": "Retriever", "agent": "Agent"}


def _elapsed(run: Run) -> str:
    seconds = run.duration_s
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


def _json(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)


class ConsoleCallbackHandler(RunTreeHandler):
    """Prints every run's start, end, error and agent action to a stream (stdout by default).

    Colours are used only when the stream is a terminal and ``NO_COLOR`` is unset.
    """

    name = "console_callback_handler"

    def __init__(self, stream: IO[str] | None = None, *, color: bool | None = None) -> None:
        super().__init__()
        self._stream = stream
        self._color = color
        self._lock = threading.Lock()

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stdout

    def _use_color(self) -> bool:
        if self._color is not None:
            return self._color
        if os.environ.get("NO_COLOR"):
            return False
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except Exception:
            return False

    def _print(self, kind: str, tag: str, run: Run, message: str, body: str | None, elapsed: bool) -> None:
        crumbs = " > ".join(f"{r.execution_order}:{r.run_type}:{r.name}" for r in run.lineage())
        head = f"[{tag}]"
        crumb_text = f"[{crumbs}]"
        if self._use_color():
            head = f"\x1b[{_COLORS[kind]};1m{head}\x1b[0m"
            crumb_text = f"\x1b[1m{crumb_text}\x1b[0m"
        parts = [head, crumb_text]
        if elapsed:
            parts.append(f"[{_elapsed(run)}]")
        parts.append(message)
        text = " ".join(parts)
        if body is not None:
            text += "\n" + body
        with self._lock:
            print(text, file=self.stream, flush=True)

    def _on_run_start(self, run: Run) -> None:
        title = _TITLES.get(run.run_type, run.run_type.title())
        body = (
            run.inputs.get("input") if run.run_type == "tool" and isinstance(run.inputs, dict) else run.inputs
        )
        self._print(
            "start", f"{run.run_type}/start", run, f"Entering {title} run with input:", _json(body), False
        )

    def _on_run_end(self, run: Run) -> None:
        title = _TITLES.get(run.run_type, run.run_type.title())
        if run.error is not None:
            err = f"{type(run.error).__name__}({str(run.error)!r})"
            self._print(
                "error", f"{run.run_type}/error", run, f"{title} run errored with error:", _json(err), True
            )
            return
        body = run.outputs
        if run.run_type == "tool" and isinstance(body, dict):
            body = body.get("output")
        self._print("end", f"{run.run_type}/end", run, f"Exiting {title} run with output:", _json(body), True)

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        self._print("action", "agent/action", run, "Agent selected action:", _json(action), False)

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        self._print("action", "agent/finish", run, "Agent finished with:", _json(finish), False)


_default: ConsoleCallbackHandler | None = None
_default_lock = threading.Lock()


def default_console_handler() -> ConsoleCallbackHandler:
    """The one console handler that ``verbose=True`` and ``OTELCHAIN_VERBOSE`` add."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ConsoleCallbackHandler()
        return _default

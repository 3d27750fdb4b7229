"""Verbose mode: LangChain's console format, straight from the runs.

[chain/start] [1:chain:agent_executor > 2:chain:llm_chain] Entering Chain run with input:
{ ...json... }
[llm/end] [1:chain:agent_executor > 2:chain:llm_chain > 3:llm:gpt-4o] [1.20s] Exiting LLM run with output:

`ConsoleCallbackHandler` renders each run's inputs and outputs from the Python objects
themselves (no JSON text in between), names runs as the span tree does (``3:llm:<model>``,
``4:tool:<tool>``), and times them with the runs' shared clock, so the verbose log and the span
tree show the same durations.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from otelchain._json import to_jsonable
from otelchain.callbacks._runs import Run, RunTreeHandler

if TYPE_CHECKING:
    from rich.console import RenderableType

    from otelchain.schema import AgentAction, AgentFinish
    from otelchain.tracing._console import Message, Printer

__all__ = ["ConsoleCallbackHandler", "default_console_handler"]


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def _first(mapping: Any, keys: tuple[str, ...]) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value
    return None


class ConsoleCallbackHandler(RunTreeHandler):
    """Prints every run's start, end, error and agent action to a stream (stdout by default).

    ``color``: None follows ``NO_COLOR`` / ``FORCE_COLOR`` / ``TERM=dumb`` and whether the stream
    is a terminal; ``width``: None fits the terminal. Printing never raises into the run; an
    output failure is counted (``printer.failures``) and logged.
    """

    name = "console_callback_handler"
    _json_values = True  # LangChain's verbose format prints the JSON of whole inputs and outputs
    otelchain_verbose = True  # verbose mode adds no second console (see `set_verbose_handler`)

    def __init__(
        self, stream: IO[str] | None = None, *, color: bool | None = None, width: int | None = None
    ) -> None:
        super().__init__()
        from otelchain.tracing._console import Printer

        self.printer: Printer = Printer(stream, color, width)

    @property
    def stream(self) -> IO[str]:
        return self.printer.stream

    @property
    def color(self) -> bool | None:
        return self.printer.color

    # --- names --------------------------------------------------------------------------------
    @staticmethod
    def _name(run: Run) -> str:
        """The run's name as the span tree shows it: the model for model runs, else the run name."""
        if run.run_type == "llm":
            from otelchain.tracing._handler import llm_model, llm_params

            return llm_model(run, llm_params(run))
        return run.name

    def _crumbs(self, run: Run) -> str:
        from otelchain.tracing._console import crumb

        own = crumb(run.execution_order, run.run_type, self._name(run))
        parent = run.parent.data if run.parent is not None else None
        return f"{parent} > {own}" if isinstance(parent, str) else own

    def _print(self, kind: str, tag: str, run: Run, message: str, took: int | None, body: Any) -> None:
        from otelchain.tracing._console import verbose_renderables

        try:
            renderables = verbose_renderables(kind, tag, str(run.data), message, took, body)
        except Exception:  # a value that cannot be shown costs its body, never the line
            renderables = verbose_renderables(kind, tag, str(run.data), message, took, None)
        self.printer.print(*renderables)

    # --- hooks --------------------------------------------------------------------------------
    def _on_run_start(self, run: Run) -> None:
        from otelchain.tracing._console import shown_type, title

        try:
            run.data = self._crumbs(run)
        except Exception:  # a name that cannot be worked out costs the name, never the line
            run.data = f"{run.execution_order}:{shown_type(run.run_type)}:{run.name}"
        self._print(
            "start",
            f"{shown_type(run.run_type)}/start",
            run,
            f"Entering {title(run.run_type)} run with input:",
            None,
            self._body(lambda: self._input(run)),
        )

    def _on_run_end(self, run: Run) -> None:
        from otelchain.tracing._console import error_text, shown_type, title

        tag = shown_type(run.run_type)
        took = (run.end_ns or run.start_ns) - run.start_ns
        if run.error is not None:
            from rich.text import Text

            error = run.error
            self._print(
                "error",
                f"{tag}/error",
                run,
                f"{title(run.run_type)} run errored with error:",
                took,
                self._body(lambda: Text(error_text(error), style="red")),
            )
            return
        self._print(
            "end",
            f"{tag}/end",
            run,
            f"Exiting {title(run.run_type)} run with output:",
            took,
            self._body(lambda: self._output(run)),
        )

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        from otelchain.tracing._console import json_text

        data = {
            "tool": _get(action, "tool"),
            "tool_input": _get(action, "tool_input"),
            "log": _get(action, "log"),
        }
        self._print(
            "action",
            "agent/action",
            run,
            "Agent selected action:",
            None,
            self._body(lambda: json_text(to_jsonable(data))),
        )

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        from otelchain.tracing._console import json_text

        data = {"return_values": _get(finish, "return_values"), "log": _get(finish, "log")}
        self._print(
            "action",
            "agent/finish",
            run,
            "Agent finished with:",
            None,
            self._body(lambda: json_text(to_jsonable(data))),
        )

    # --- bodies -------------------------------------------------------------------------------
    @staticmethod
    def _body(build: Any) -> RenderableType | None:
        try:
            body: RenderableType | None = build()
            return body
        except Exception as error:
            from rich.text import Text

            return Text(f"<not shown: {type(error).__name__}>", style="dim italic")

    @staticmethod
    def _input(run: Run) -> RenderableType | None:
        from otelchain.tracing._console import VERBOSE_LIMITS, messages_renderable, value_renderable

        inputs = run.inputs
        if run.run_type == "llm" and isinstance(inputs, Mapping):
            messages = inputs.get("messages")
            if isinstance(messages, list):
                flat = [
                    _message(m) for batch in messages for m in (batch if isinstance(batch, list) else [batch])
                ]
                return messages_renderable(flat, VERBOSE_LIMITS)
            prompts = inputs.get("prompts")
            if isinstance(prompts, list):
                return messages_renderable([("prompt", str(p), []) for p in prompts], VERBOSE_LIMITS)
        if run.run_type == "tool" and isinstance(inputs, Mapping) and set(inputs) == {"input"}:
            inputs = inputs["input"]
        return value_renderable(to_jsonable(inputs), VERBOSE_LIMITS)

    @staticmethod
    def _output(run: Run) -> RenderableType | None:
        from otelchain.tracing._console import VERBOSE_LIMITS, group, value_renderable

        outputs = run.outputs
        if run.run_type == "llm" and outputs is not None and hasattr(outputs, "generations"):
            return group(*_llm_result(outputs))
        if run.run_type == "tool" and isinstance(outputs, Mapping) and set(outputs) == {"output"}:
            outputs = outputs["output"]
        return value_renderable(to_jsonable(outputs), VERBOSE_LIMITS)


def _message(message: Any) -> Message:
    """(role, content, tool calls) of a message, with the roles the spans use."""
    from otelchain.tracing._handler import _role

    if isinstance(message, tuple) and len(message) == 2:
        return str(message[0]), message[1], []
    content = getattr(message, "content", message)
    if not isinstance(content, str):
        content = to_jsonable(content)
    calls = [
        (str(_get(call, "name")), to_jsonable(_get(call, "args")))
        for call in (getattr(message, "tool_calls", None) or [])
    ]
    return _role(message), content, calls


def _llm_result(response: Any) -> list[RenderableType]:
    """The generations by role, then ``tokens 124 in / 23 out · model gpt-4o · finish stop``."""
    from otelchain.tracing._console import VERBOSE_LIMITS, llm_summary, messages_renderable

    llm_output = getattr(response, "llm_output", None)
    llm_output = llm_output if isinstance(llm_output, Mapping) else {}
    usage = llm_output.get("token_usage") or llm_output.get("usage")
    tokens_in = _first(usage, ("prompt_tokens", "input_tokens"))
    tokens_out = _first(usage, ("completion_tokens", "output_tokens"))
    model = _first(llm_output, ("model_name", "model"))
    messages: list[Message] = []
    finish: list[str] = []
    for batch in getattr(response, "generations", None) or []:
        for gen in batch:
            info = getattr(gen, "generation_info", None)
            reason = _first(info, ("finish_reason",))
            message = getattr(gen, "message", None)
            if message is None:
                messages.append(("assistant", str(getattr(gen, "text", "")), []))
            else:
                messages.append(_message(message))
                meta = getattr(message, "response_metadata", None)
                reason = reason or _first(meta, ("finish_reason",))
                model = model or _first(meta, ("model_name", "model"))
                um = getattr(message, "usage_metadata", None)
                if isinstance(um, Mapping) and tokens_in is None and tokens_out is None:
                    tokens_in, tokens_out = um.get("input_tokens"), um.get("output_tokens")
            if isinstance(reason, str):
                finish.append(reason)
    return [messages_renderable(messages, VERBOSE_LIMITS), llm_summary(model, tokens_in, tokens_out, finish)]


_default: ConsoleCallbackHandler | None = None
_default_lock = threading.Lock()


def default_console_handler() -> ConsoleCallbackHandler:
    """The one console handler that ``verbose=True`` and ``OTELCHAIN_VERBOSE`` add."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ConsoleCallbackHandler()
        return _default

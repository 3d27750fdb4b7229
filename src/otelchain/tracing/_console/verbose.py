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

import functools
import threading
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from otelchain._json import to_jsonable
from otelchain.callbacks._runs import Run, RunTreeHandler
from otelchain.tracing._console.printer import Printer, Printing
from otelchain.tracing._console.render import (
    VERBOSE_LIMITS,
    Message,
    crumb,
    error_text,
    group,
    json_text,
    llm_summary,
    messages_renderable,
    value_renderable,
    verbose_renderables,
)
from otelchain.tracing._conventions import openinference_values as _oi
from otelchain.tracing._conventions.view import llm_model, llm_params, tool_call_agent_name
from otelchain.tracing._spans.context import current_claim
from otelchain.tracing._spans.control_flow import control_flow

if TYPE_CHECKING:
    from rich.console import RenderableType

    from otelchain.schema import AgentAction, AgentFinish
__all__ = ["ConsoleCallbackHandler", "default_console_handler"]


class ConsoleCallbackHandler(Printing, RunTreeHandler):
    """Prints every run's start, end, error and agent action to a stream (stdout by default).

    ``color``: None follows ``NO_COLOR`` / ``FORCE_COLOR`` / ``TERM=dumb`` and whether the stream
    is a terminal; ``width``: None fits the terminal. Printing never raises into the run; an
    output failure is counted (``printer.failures``) and logged.
    """

    name = "console_callback_handler"
    otelchain_verbose = True  # verbose mode adds no second console (see `set_verbose_handler`)

    def __init__(
        self, stream: IO[str] | None = None, *, color: bool | None = None, width: int | None = None
    ) -> None:
        super().__init__()
        self.printer = Printer(stream, color, width)
        self._agents: set[Any] = set()  # run ids of the LangGraph agents' runs now running

    def _print(
        self, kind: str, run: Run, took: int | None, body: Callable[[], RenderableType | None]
    ) -> None:
        """One verbose line; a body that cannot be shown costs the body, never the line."""
        from rich.text import Text

        try:
            shown = body()
        except Exception as error:
            shown = Text(f"<not shown: {type(error).__name__}>", style="dim italic")
        try:
            renderables = verbose_renderables(kind, run.run_type, str(run.data), took, shown)
        except Exception:
            renderables = verbose_renderables(kind, run.run_type, str(run.data), took, None)
        self.printer.print(*renderables)

    # --- hooks --------------------------------------------------------------------------------
    def _on_run_start(self, run: Run) -> None:
        try:
            agent = _graph_agent_name(run)
            if agent is not None:  # a LangGraph agent's run: labelled an agent, as in the tree
                self._agents.add(run.run_id)
                own = f"{run.execution_order}:agent:{agent}"
            else:
                own = crumb(run.execution_order, run.run_type, _name(run))
        except Exception:  # a name that cannot be worked out costs the name, never the line
            own = crumb(run.execution_order, run.run_type, run.name)
        parent = run.parent.data if run.parent is not None else None
        run.data = f"{parent} > {own}" if isinstance(parent, str) else own
        self._print("start", run, None, lambda: _input(run))

    def _on_run_end(self, run: Run) -> None:
        from rich.text import Text

        took = (run.end_ns or run.start_ns) - run.start_ns
        error = run.error
        self._agents.discard(run.run_id)
        if error is not None and (flow := control_flow(error)) is not None:
            self._print("interrupt", run, took, lambda: Text(flow, style="yellow"))
        elif error is not None:
            self._print("error", run, took, lambda: Text(error_text(error), style="red"))
        else:
            self._print("end", run, took, lambda: _output(run))
            if run.run_type == "llm" and self._agents:
                self._tool_call_actions(run)

    def _tool_call_actions(self, run: Run) -> None:
        """A LangGraph agent's model run chose tools: one ``[agent/action]`` line per tool call,
        under the agent's run (an agent executor prints them from its own action events)."""
        agent = run.parent
        while agent is not None and agent.run_type != "tool" and agent.run_id not in self._agents:
            agent = agent.parent
        if agent is None or agent.run_type == "tool":
            return
        for batch in getattr(run.outputs, "generations", None) or []:
            for gen in batch:
                for call in getattr(getattr(gen, "message", None), "tool_calls", None) or []:
                    data = {"tool": _oi.get(call, "name"), "tool_input": _oi.get(call, "args"), "log": ""}
                    self._print("action", agent, None, functools.partial(_json, data))

    def _on_agent_action(self, run: Run, action: AgentAction) -> None:
        data = {key: _oi.get(action, key) for key in ("tool", "tool_input", "log")}
        self._print("action", run, None, lambda: _json(data))

    def _on_agent_finish(self, run: Run, finish: AgentFinish) -> None:
        data = {key: _oi.get(finish, key) for key in ("return_values", "log")}
        self._print("finish", run, None, lambda: _json(data))


# --- bodies, from the runs' Python objects ---------------------------------------------------


def _name(run: Run) -> str:
    """The run's name as the span tree shows it: the model for model runs, else the run name."""
    if run.run_type == "llm":
        return llm_model(run, llm_params(run))
    return run.name


def _graph_agent_name(run: Run) -> str | None:
    """The agent name of a LangGraph agent's graph run (as the tracing handler recognises it:
    ``lc_agent_name`` metadata, or the claim a ``create_react_agent`` graph opens), else None."""
    if run.run_type != "chain":
        return None
    claim = current_claim()
    if claim is not None and not (claim.agent_name and claim.run_id in (None, run.run_id)):
        claim = None
    return tool_call_agent_name(run, claim)


def _json(data: Any) -> RenderableType:
    return json_text(to_jsonable(data))


def _input(run: Run) -> RenderableType | None:
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


def _output(run: Run) -> RenderableType | None:
    outputs = run.outputs
    if run.run_type == "llm" and outputs is not None and hasattr(outputs, "generations"):
        return group(*_llm_result(outputs))
    if run.run_type == "tool" and isinstance(outputs, Mapping) and set(outputs) == {"output"}:
        outputs = outputs["output"]
    return value_renderable(to_jsonable(outputs), VERBOSE_LIMITS)


def _message(message: Any) -> Message:
    """(role, content, tool calls) of a message, with the roles the spans use (else its type)."""
    if isinstance(message, tuple) and len(message) == 2:
        return str(message[0]), message[1], []
    content = getattr(message, "content", message)
    if not isinstance(content, str):
        content = to_jsonable(content)
    calls = [
        (str(_oi.get(call, "name")), to_jsonable(_oi.get(call, "args")))
        for call in (getattr(message, "tool_calls", None) or [])
    ]
    role = _oi.MessageView(message).role or getattr(message, "type", None)
    return (role if isinstance(role, str) else "user"), content, calls


def _llm_result(response: Any) -> list[RenderableType]:
    """The generations by role, then ``tokens 124 in / 23 out · model gpt-4o · finish stop``,
    with the token counts the span records."""

    def first(mapping: Any, *keys: str) -> Any:
        values = (mapping.get(key) for key in keys) if isinstance(mapping, Mapping) else ()
        return next((value for value in values if value is not None and value != ""), None)

    model = first(getattr(response, "llm_output", None), "model_name", "model")
    messages: list[Message] = []
    finish: list[str] = []
    for batch in getattr(response, "generations", None) or []:
        for gen in batch:
            reason = first(getattr(gen, "generation_info", None), "finish_reason")
            message = getattr(gen, "message", None)
            if message is None:
                messages.append(("assistant", str(getattr(gen, "text", "")), []))
            else:
                messages.append(_message(message))
                meta = getattr(message, "response_metadata", None)
                reason = reason or first(meta, "finish_reason")
                model = model or first(meta, "model_name", "model")
            if isinstance(reason, str):
                finish.append(reason)
    counts = _oi.token_counts(response)
    summary = llm_summary(model, counts.prompt, counts.completion, finish)
    return [messages_renderable(messages, VERBOSE_LIMITS), summary]


_default: ConsoleCallbackHandler | None = None
_default_lock = threading.Lock()


def default_console_handler() -> ConsoleCallbackHandler:
    """The one console handler that ``verbose=True`` and ``OTELCHAIN_VERBOSE`` add."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ConsoleCallbackHandler()
        return _default

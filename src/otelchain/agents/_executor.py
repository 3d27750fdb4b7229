"""`AgentExecutor`: the loop that asks an agent for the next step, runs the chosen tool, and
feeds the observation back, until the agent gives a final answer or a limit is reached.

It is a chain (serialized name ``agent_executor``, run type ``agent``): its run manager emits
``on_agent_action`` before each tool runs and ``on_agent_finish`` at the end, and the agent's
LLMChain and the tools run as its children (``callbacks=run_manager.get_child()``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from otelchain.agents._mrkl import OutputParserException, ZeroShotAgent, _check_stopping, _validate_tools
from otelchain.callbacks._manager import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
    Callbacks,
)
from otelchain.chains._base import Chain
from otelchain.schema import AgentAction, AgentFinish
from otelchain.tools._base import BaseTool

__all__ = ["AgentExecutor", "ExceptionTool", "InvalidTool"]

Step = tuple[AgentAction, Any]
HandleParsingErrors = bool | str | Callable[[OutputParserException], str]


_INVALID_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "requested_tool_name": {"type": "string"},
        "available_tool_names": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["requested_tool_name", "available_tool_names"],
}


class InvalidTool(BaseTool):
    """Runs when the model names a tool the executor does not have: tells the model which exist."""

    name = "invalid_tool"
    description = "Called when the tool name is invalid. Suggests valid tool names."
    args_schema = _INVALID_TOOL_SCHEMA

    def _run(self, requested_tool_name: str, available_tool_names: list[str]) -> str:
        names = ", ".join(available_tool_names)
        return f"{requested_tool_name} is not a valid tool, try one of [{names}]."


class ExceptionTool(BaseTool):
    """Runs when the model's text could not be parsed: returns the error observation as is."""

    name = "_Exception"
    description = "Exception tool"

    def _run(self, query: str) -> str:
        return query


class AgentExecutor(Chain):
    """Runs an agent with tools: ``AgentExecutor.from_agent_and_tools(agent=..., tools=...)``.

    ``call({"input": ...}, callbacks=[...])`` returns ``{"output": ...}`` (plus
    ``"intermediate_steps"`` with ``return_intermediate_steps``) with ``.run_info``.

    Limits: after ``max_iterations`` steps or ``max_execution_time`` seconds the run stops with
    ``early_stopping_method`` — ``"force"`` (a fixed message) or ``"generate"`` (one more model
    call for a final answer); sync runs check the time between steps, async runs also cancel a
    step still running at the deadline. Unparseable model output is sent back as an observation
    (``handle_parsing_errors``: ``True`` = the parser's message, a str, or a function of the
    error; ``False`` raises). The tools run are this executor's ``tools``; the agent's
    ``allowed_tools`` does not restrict them (see `ZeroShotAgent`).
    """

    type_name = "agent_executor"

    def __init__(
        self,
        *,
        agent: ZeroShotAgent,
        tools: Sequence[BaseTool],
        max_iterations: int | None = 15,
        max_execution_time: float | None = None,
        early_stopping_method: str = "force",
        return_intermediate_steps: bool = False,
        handle_parsing_errors: HandleParsingErrors = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(agent, ZeroShotAgent):
            raise TypeError(f"agent must be a ZeroShotAgent, got {type(agent).__name__}")
        if max_iterations is not None and (not isinstance(max_iterations, int) or max_iterations < 1):
            raise ValueError(f"max_iterations must be a positive int or None, got {max_iterations!r}")
        if max_execution_time is not None and not max_execution_time > 0:
            raise ValueError(
                f"max_execution_time must be positive seconds or None, got {max_execution_time!r}"
            )
        _check_stopping(early_stopping_method)
        self.agent = agent
        self.tools = _validate_tools(tools)
        self.max_iterations = max_iterations
        self.max_execution_time = max_execution_time
        self.early_stopping_method = early_stopping_method
        self.return_intermediate_steps = return_intermediate_steps
        self.handle_parsing_errors = handle_parsing_errors

    @classmethod
    def from_agent_and_tools(
        cls, agent: ZeroShotAgent, tools: Sequence[BaseTool], callbacks: Callbacks = None, **kwargs: Any
    ) -> AgentExecutor:
        """Build an executor; ``callbacks`` are its constructor callbacks (this executor only)."""
        return cls(agent=agent, tools=tools, callbacks=callbacks, **kwargs)

    @property
    def input_keys(self) -> list[str]:
        return self.agent.input_keys

    @property
    def output_keys(self) -> list[str]:
        keys = list(self.agent.return_values)
        if self.return_intermediate_steps:
            keys.append("intermediate_steps")
        return keys

    def _start_kwargs(self) -> dict[str, Any]:
        return {"run_type": "agent"}

    def _serialized_kwargs(self) -> dict[str, Any]:
        return {
            "tools": [t.name for t in self.tools],
            "max_iterations": self.max_iterations,
            "max_execution_time": self.max_execution_time,
            "early_stopping_method": self.early_stopping_method,
        }

    # --- the loop ------------------------------------------------------------------------------
    def _should_continue(self, iterations: int, elapsed: float) -> bool:
        if self.max_iterations is not None and iterations >= self.max_iterations:
            return False
        return self.max_execution_time is None or elapsed < self.max_execution_time

    def _parse_error_step(self, error: OutputParserException) -> AgentAction:
        """The `_Exception` action that sends a parsing error back to the model."""
        flag = self.handle_parsing_errors
        if flag is False:
            raise ValueError(
                "An output parsing error occurred. Pass handle_parsing_errors=True to send it back "
                f"to the model and retry. The error: {error}"
            ) from error
        text = str(error)
        if flag is True:
            if error.send_to_llm:
                observation = str(error.observation)
                text = str(error.llm_output)
            else:
                observation = "Invalid or incomplete response"
        elif isinstance(flag, str):
            observation = flag
        elif callable(flag):
            observation = str(flag(error))
        else:
            raise TypeError(f"handle_parsing_errors must be a bool, str or function, got {flag!r}")
        return AgentAction("_Exception", observation, text)

    def _tool_for(self, action: AgentAction) -> tuple[BaseTool, Any]:
        """The tool the action names and its input (an unknown name runs `InvalidTool`)."""
        if action.tool == "_Exception":
            return ExceptionTool(), action.tool_input
        for tool in self.tools:
            if tool.name == action.tool:
                return tool, action.tool_input
        names = [t.name for t in self.tools]
        return InvalidTool(), {"requested_tool_name": action.tool, "available_tool_names": names}

    def _record(self, steps: list[Step], action: AgentAction, tool: BaseTool, observation: Any) -> bool:
        """Add a step; True when its tool returns directly (the observation is the answer)."""
        steps.append((action, observation))
        return tool.return_direct and tool in self.tools

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        steps: list[Step] = []
        agent_inputs = {k: v for k, v in inputs.items() if k in self.agent.input_keys}
        finish = self._loop(agent_inputs, steps, time.monotonic(), run_manager)
        if finish is None:
            finish = self.agent.return_stopped_response(
                self.early_stopping_method, steps, callbacks=run_manager.get_child(), **agent_inputs
            )
        run_manager.on_agent_finish(finish)
        return self._outputs(finish, steps)

    def _loop(
        self, inputs: dict[str, Any], steps: list[Step], start: float, rm: CallbackManagerForChainRun
    ) -> AgentFinish | None:
        """Steps until the agent finishes (its `AgentFinish`) or a limit is reached (None)."""
        while self._should_continue(len(steps), time.monotonic() - start):
            try:
                decision = self.agent.plan(steps, callbacks=rm.get_child(), **inputs)
            except OutputParserException as error:
                decision = self._parse_error_step(error)
            if isinstance(decision, AgentFinish):
                return decision
            rm.on_agent_action(decision)
            tool, tool_input = self._tool_for(decision)
            observation = tool.run(tool_input, callbacks=rm.get_child())
            if self._record(steps, decision, tool, observation):
                return AgentFinish({"output": observation}, "")
        return None

    async def _acall(
        self, inputs: dict[str, Any], run_manager: AsyncCallbackManagerForChainRun
    ) -> dict[str, Any]:
        """Async `_call`; ``max_execution_time`` also cancels a step still running at the deadline
        (its runs end with an error event), then the agent stops as configured."""
        steps: list[Step] = []
        agent_inputs = {k: v for k, v in inputs.items() if k in self.agent.input_keys}
        start = time.monotonic()
        try:
            finish = await asyncio.wait_for(
                self._aloop(agent_inputs, steps, start, run_manager), self.max_execution_time
            )
        except asyncio.TimeoutError:
            if self.max_execution_time is None or time.monotonic() - start < self.max_execution_time:
                raise  # a step's own timeout, not the executor's deadline
            finish = None
        if finish is None:
            finish = await self.agent.areturn_stopped_response(
                self.early_stopping_method, steps, callbacks=run_manager.get_child(), **agent_inputs
            )
        await run_manager.on_agent_finish(finish)
        return self._outputs(finish, steps)

    async def _aloop(
        self, inputs: dict[str, Any], steps: list[Step], start: float, rm: AsyncCallbackManagerForChainRun
    ) -> AgentFinish | None:
        """Async `_loop`."""
        while self._should_continue(len(steps), time.monotonic() - start):
            try:
                decision = await self.agent.aplan(steps, callbacks=rm.get_child(), **inputs)
            except OutputParserException as error:
                decision = self._parse_error_step(error)
            if isinstance(decision, AgentFinish):
                return decision
            await rm.on_agent_action(decision)
            tool, tool_input = self._tool_for(decision)
            observation = await tool.arun(tool_input, callbacks=rm.get_child())
            if self._record(steps, decision, tool, observation):
                return AgentFinish({"output": observation}, "")
        return None

    def _outputs(self, finish: AgentFinish, steps: list[Step]) -> dict[str, Any]:
        outputs = {k: _plain(v) for k, v in finish.return_values.items()}
        if self.return_intermediate_steps:
            outputs["intermediate_steps"] = steps
        return outputs


def _plain(value: Any) -> Any:
    """A tool's `TextOutput` returned directly becomes a plain str in the agent's output."""
    return str(value) if isinstance(value, str) else value

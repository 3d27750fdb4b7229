"""`ZeroShotAgent`: LangChain's MRKL (ReAct) agent — a prompt listing the tools, a model that
answers with ``Action:`` / ``Action Input:`` or ``Final Answer:``, and the parser for that text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from otelchain.callbacks._manager import Callbacks
from otelchain.chains._llm import LLMChain
from otelchain.models._base import BaseLanguageModel
from otelchain.prompts import PromptTemplate
from otelchain.schema import AgentAction, AgentFinish
from otelchain.tools._base import BaseTool

__all__ = [
    "FINAL_ANSWER_ACTION",
    "FORMAT_INSTRUCTIONS",
    "PREFIX",
    "SUFFIX",
    "MRKLOutputParser",
    "OutputParserException",
    "ZeroShotAgent",
]

PREFIX = """Answer the following questions as best you can. You have access to the following tools:"""
FORMAT_INSTRUCTIONS = """Use the following format:

Question: the input question you must answer
Thought: you should always think about what to do
Action: the action to take, should be one of [{tool_names}]
Action Input: the input to the action
Observation: the result of the action
... (this Thought/Action/Action Input/Observation can repeat N times)
Thought: I now know the final answer
Final Answer: the final answer to the original input question"""
SUFFIX = """Begin!

Question: {input}
Thought:{agent_scratchpad}"""

FINAL_ANSWER_ACTION = "Final Answer:"
MISSING_ACTION_AFTER_THOUGHT = "Invalid Format: Missing 'Action:' after 'Thought:'"
MISSING_ACTION_INPUT_AFTER_ACTION = "Invalid Format: Missing 'Action Input:' after 'Action:'"
FINAL_ANSWER_AND_ACTION = "Parsing LLM output produced both a final answer and a parse-able action:"

_ACTION_RE = re.compile(r"Action\s*\d*\s*:[\s]*(.*?)[\s]*Action\s*\d*\s*Input\s*\d*\s*:[\s]*(.*)", re.DOTALL)
_HAS_ACTION_RE = re.compile(r"Action\s*\d*\s*:[\s]*(.*?)", re.DOTALL)
_HAS_ACTION_INPUT_RE = re.compile(r"[\s]*Action\s*\d*\s*Input\s*\d*\s*:[\s]*(.*)", re.DOTALL)


class OutputParserException(ValueError):
    """The model's text could not be parsed. ``observation`` is what to tell the model when
    ``send_to_llm`` is set; ``llm_output`` is the text that failed."""

    def __init__(
        self,
        error: str,
        *,
        observation: str | None = None,
        llm_output: str | None = None,
        send_to_llm: bool = False,
    ) -> None:
        super().__init__(error)
        self.observation = observation
        self.llm_output = llm_output
        self.send_to_llm = send_to_llm


class MRKLOutputParser:
    """Parses ReAct text: ``Action: tool`` + ``Action Input: input`` → `AgentAction`;
    ``Final Answer: x`` → `AgentFinish({"output": x})`; anything else → `OutputParserException`."""

    def parse(self, text: str) -> AgentAction | AgentFinish:
        includes_answer = FINAL_ANSWER_ACTION in text
        match = _ACTION_RE.search(text)
        if match and includes_answer:
            answer_at = text.find(FINAL_ANSWER_ACTION)
            if answer_at < match.start():  # the answer came first; the rest is hallucinated
                start = answer_at + len(FINAL_ANSWER_ACTION)
                end = text.find("\n\n", start)
                return AgentFinish({"output": text[start : end if end >= 0 else None].strip()}, text)
            raise OutputParserException(f"{FINAL_ANSWER_AND_ACTION} {text}", llm_output=text)
        if match:
            action = match.group(1).strip()
            tool_input = match.group(2).strip(" ")
            if not tool_input.startswith("SELECT "):  # keep a SQL query's trailing quote
                tool_input = tool_input.strip('"')
            return AgentAction(action, tool_input, text)
        if includes_answer:
            return AgentFinish({"output": text.split(FINAL_ANSWER_ACTION)[-1].strip()}, text)
        error = f"Could not parse LLM output: `{text}`"
        for required, missing in (
            (_HAS_ACTION_RE, MISSING_ACTION_AFTER_THOUGHT),
            (_HAS_ACTION_INPUT_RE, MISSING_ACTION_INPUT_AFTER_ACTION),
        ):
            if not required.search(text):  # tell the model what its answer lacks
                raise OutputParserException(error, observation=missing, llm_output=text, send_to_llm=True)
        raise OutputParserException(error, llm_output=text)


def _validate_tools(tools: Sequence[BaseTool]) -> list[BaseTool]:
    tools = list(tools)
    for t in tools:
        if not isinstance(t, BaseTool):
            raise TypeError(f"tools must be otelchain tools (BaseTool), got {type(t).__name__}")
    names = [t.name for t in tools]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"tool names must be unique; duplicated: {duplicates}")
    return tools


class ZeroShotAgent:
    """Decides the next step from the question and the steps so far, by asking its ``llm_chain``.

    ``allowed_tools`` only informs the agent (`get_allowed_tools`), as in LangChain JS's example
    where ``allowedTools: ["search"]`` still lets the executor run its ``calculator``: which tools
    can run is decided by the executor's ``tools``, and an unknown tool name becomes an
    observation for the model, never a crash.
    """

    observation_prefix = "Observation: "
    llm_prefix = "Thought:"

    def __init__(
        self,
        *,
        llm_chain: LLMChain,
        allowed_tools: Sequence[str] | None = None,
        output_parser: MRKLOutputParser | None = None,
        stop: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(llm_chain, LLMChain):
            raise TypeError(f"llm_chain must be an LLMChain, got {type(llm_chain).__name__}")
        if "agent_scratchpad" not in llm_chain.prompt.input_variables:
            raise ValueError(
                "the agent's prompt needs an {agent_scratchpad} variable; build it with "
                "ZeroShotAgent.create_prompt(tools)"
            )
        if allowed_tools is not None and (
            isinstance(allowed_tools, str) or not all(isinstance(t, str) for t in allowed_tools)
        ):
            raise TypeError("allowed_tools must be a list of tool names")
        self.llm_chain = llm_chain
        self.allowed_tools = list(allowed_tools) if allowed_tools is not None else None
        self.output_parser = output_parser or MRKLOutputParser()
        self.stop = list(stop) if stop is not None else [f"\n{self.observation_prefix.rstrip()}"]

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def create_prompt(
        cls,
        tools: Sequence[BaseTool],
        prefix: str = PREFIX,
        suffix: str = SUFFIX,
        format_instructions: str = FORMAT_INSTRUCTIONS,
        input_variables: list[str] | None = None,
    ) -> PromptTemplate:
        """The MRKL prompt: prefix, one ``name: description`` line per tool, the format
        instructions, and the suffix (with ``{input}`` and ``{agent_scratchpad}``)."""
        tools = _validate_tools(tools)
        tool_strings = "\n".join(f"{t.name}: {t.description}" for t in tools)
        tool_names = ", ".join(t.name for t in tools)
        instructions = format_instructions.replace("{tool_names}", tool_names)
        template = "\n\n".join([prefix, _escape(tool_strings), instructions, suffix])
        if input_variables is None:
            input_variables = ["input", "agent_scratchpad"]
        return PromptTemplate(template, input_variables=input_variables)

    @classmethod
    def from_llm_and_tools(
        cls,
        llm: BaseLanguageModel[Any, Any],
        tools: Sequence[BaseTool],
        callbacks: Callbacks = None,
        *,
        prefix: str = PREFIX,
        suffix: str = SUFFIX,
        format_instructions: str = FORMAT_INSTRUCTIONS,
        input_variables: list[str] | None = None,
        **kwargs: Any,
    ) -> ZeroShotAgent:
        """Build the prompt and the LLMChain (with ``callbacks`` as its constructor callbacks)."""
        prompt = cls.create_prompt(tools, prefix, suffix, format_instructions, input_variables)
        chain = LLMChain(llm=llm, prompt=prompt, callbacks=callbacks)
        kwargs.setdefault("allowed_tools", [t.name for t in tools])
        return cls(llm_chain=chain, **kwargs)

    # --- what the executor uses ----------------------------------------------------------------
    @property
    def input_keys(self) -> list[str]:
        return [k for k in self.llm_chain.input_keys if k != "agent_scratchpad"]

    @property
    def return_values(self) -> list[str]:
        return ["output"]

    def get_allowed_tools(self) -> list[str] | None:
        return self.allowed_tools

    def construct_scratchpad(self, intermediate_steps: Sequence[tuple[AgentAction, Any]]) -> str:
        """The steps so far as text: each action's log, then ``Observation: ...`` and ``Thought:``."""
        thoughts = ""
        for action, observation in intermediate_steps:
            thoughts += action.log
            thoughts += f"\n{self.observation_prefix}{observation}\n{self.llm_prefix}"
        return thoughts

    def _full_inputs(
        self, steps: Sequence[tuple[AgentAction, Any]], inputs: dict[str, Any]
    ) -> dict[str, Any]:
        return {**inputs, "agent_scratchpad": self.construct_scratchpad(steps), "stop": self.stop}

    def plan(
        self,
        intermediate_steps: Sequence[tuple[AgentAction, Any]],
        callbacks: Callbacks = None,
        **inputs: Any,
    ) -> AgentAction | AgentFinish:
        """Ask the model for the next step (one ``llm_chain`` run) and parse its answer."""
        text = self.llm_chain.predict(callbacks=callbacks, **self._full_inputs(intermediate_steps, inputs))
        return self.output_parser.parse(self._cut_at_stop(text))

    async def aplan(
        self,
        intermediate_steps: Sequence[tuple[AgentAction, Any]],
        callbacks: Callbacks = None,
        **inputs: Any,
    ) -> AgentAction | AgentFinish:
        """Async `plan`."""
        text = await self.llm_chain.apredict(
            callbacks=callbacks, **self._full_inputs(intermediate_steps, inputs)
        )
        return self.output_parser.parse(self._cut_at_stop(text))

    def _cut_at_stop(self, text: str) -> str:
        """Drop anything from a stop sequence on, for models that do not honour ``stop``
        (their invented ``Observation:`` must not be parsed as the agent's)."""
        cut = min((i for i in (text.find(s) for s in self.stop) if i >= 0), default=-1)
        return text if cut < 0 else text[:cut]

    def _stopped_inputs(
        self, method: str, steps: Sequence[tuple[AgentAction, Any]], inputs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The inputs of the one more model call ``generate`` makes (None for ``force``)."""
        _check_stopping(method)
        if method == "force":
            return None
        thoughts = self.construct_scratchpad(steps)
        thoughts += "\n\nI now need to return a final answer based on the previous steps:"
        return {**inputs, "agent_scratchpad": thoughts, "stop": self.stop}

    @staticmethod
    def _stopped_finish(text: str | None) -> AgentFinish:
        if text is None:
            return AgentFinish({"output": "Agent stopped due to iteration limit or time limit."}, "")
        if FINAL_ANSWER_ACTION in text:
            return AgentFinish({"output": text.split(FINAL_ANSWER_ACTION)[-1].strip()}, text)
        return AgentFinish({"output": text.strip()}, text)

    def return_stopped_response(
        self,
        early_stopping_method: str,
        intermediate_steps: Sequence[tuple[AgentAction, Any]],
        callbacks: Callbacks = None,
        **inputs: Any,
    ) -> AgentFinish:
        """The answer when the executor stops early: ``force`` returns a fixed message;
        ``generate`` asks the model once more for a final answer from the steps so far."""
        full = self._stopped_inputs(early_stopping_method, intermediate_steps, inputs)
        text = None if full is None else self.llm_chain.predict(callbacks=callbacks, **full)
        return self._stopped_finish(text)

    async def areturn_stopped_response(
        self,
        early_stopping_method: str,
        intermediate_steps: Sequence[tuple[AgentAction, Any]],
        callbacks: Callbacks = None,
        **inputs: Any,
    ) -> AgentFinish:
        """Async `return_stopped_response`."""
        full = self._stopped_inputs(early_stopping_method, intermediate_steps, inputs)
        text = None if full is None else await self.llm_chain.apredict(callbacks=callbacks, **full)
        return self._stopped_finish(text)


def _check_stopping(method: str) -> None:
    if method not in ("force", "generate"):
        raise ValueError(f"early_stopping_method must be 'force' or 'generate', got {method!r}")


def _escape(text: str) -> str:
    """Tool descriptions are literal text in the template: escape ``{`` and ``}``."""
    return text.replace("{", "{{").replace("}", "}}")

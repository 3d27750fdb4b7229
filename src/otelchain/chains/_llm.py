"""`LLMChain`: format a prompt, call a model, return its text."""

from __future__ import annotations

from typing import Any

from otelchain.callbacks._manager import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
    Callbacks,
)
from otelchain.chains._base import Chain
from otelchain.models._base import BaseLanguageModel
from otelchain.prompts import PromptTemplate

__all__ = ["LLMChain"]


class LLMChain(Chain):
    """``LLMChain(llm=..., prompt=PromptTemplate.from_template("1 + {number} ="))``."""

    type_name = "llm_chain"

    def __init__(
        self,
        *,
        llm: BaseLanguageModel[Any, Any],
        prompt: PromptTemplate,
        output_key: str = "text",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(llm, BaseLanguageModel):
            raise TypeError(f"llm must be an otelchain model, got {type(llm).__name__}")
        if not isinstance(prompt, PromptTemplate):
            raise TypeError(f"prompt must be a PromptTemplate, got {type(prompt).__name__}")
        self.llm = llm
        self.prompt = prompt
        self.output_key = output_key

    @property
    def input_keys(self) -> list[str]:
        return list(self.prompt.input_variables)

    @property
    def output_keys(self) -> list[str]:
        return [self.output_key]

    def _serialized_kwargs(self) -> dict[str, Any]:
        return {"prompt": {"template": self.prompt.template, "input_variables": self.prompt.input_variables}}

    def _prompt(self, inputs: dict[str, Any]) -> tuple[str, list[str] | None]:
        values = {k: inputs[k] for k in self.prompt.input_variables}
        return self.prompt.format(**values), inputs.get("stop")

    def _call(self, inputs: dict[str, Any], run_manager: CallbackManagerForChainRun) -> dict[str, Any]:
        prompt, stop = self._prompt(inputs)
        result = self.llm.generate_prompt([prompt], stop, callbacks=run_manager.get_child())
        return {self.output_key: result.generations[0][0].text}

    async def _acall(
        self, inputs: dict[str, Any], run_manager: AsyncCallbackManagerForChainRun
    ) -> dict[str, Any]:
        prompt, stop = self._prompt(inputs)
        result = await self.llm.agenerate_prompt([prompt], stop, callbacks=run_manager.get_child())
        return {self.output_key: result.generations[0][0].text}

    def predict(self, callbacks: Callbacks = None, **kwargs: Any) -> str:
        """Format the prompt with ``kwargs`` and return the model's text."""
        return str(self.call(kwargs, callbacks)[self.output_key])

    async def apredict(self, callbacks: Callbacks = None, **kwargs: Any) -> str:
        return str((await self.acall(kwargs, callbacks))[self.output_key])

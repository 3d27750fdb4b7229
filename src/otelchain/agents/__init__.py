"""Agents: a model that picks tools step by step (`ZeroShotAgent`) and the loop that runs it
(`AgentExecutor`), every step a callback run under the executor's run."""

from otelchain.agents._executor import AgentExecutor, ExceptionTool, InvalidTool
from otelchain.agents._mrkl import (
    FORMAT_INSTRUCTIONS,
    PREFIX,
    SUFFIX,
    MRKLOutputParser,
    OutputParserException,
    ZeroShotAgent,
)
from otelchain.schema import AgentAction, AgentFinish

__all__ = [
    "FORMAT_INSTRUCTIONS",
    "PREFIX",
    "SUFFIX",
    "AgentAction",
    "AgentExecutor",
    "AgentFinish",
    "ExceptionTool",
    "InvalidTool",
    "MRKLOutputParser",
    "OutputParserException",
    "ZeroShotAgent",
]

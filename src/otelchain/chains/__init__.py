"""Chains: runs that take a dict of inputs and return a dict of outputs."""

from otelchain.chains._base import Chain
from otelchain.chains._llm import LLMChain

__all__ = ["Chain", "LLMChain"]

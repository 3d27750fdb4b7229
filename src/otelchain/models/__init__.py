"""The machinery language models share (callbacks, streaming, run ids) and the concrete models.

Import the models from where users look for them: completion models from `otelchain.llms`,
chat models from `otelchain.chat_models`. This package exports only their common base.
"""

from otelchain.models._base import BaseLanguageModel

__all__ = ["BaseLanguageModel"]

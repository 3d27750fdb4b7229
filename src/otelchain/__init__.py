"""otelchain: LangChain-style callbacks for Python LLM apps, bridged to OpenTelemetry."""

from otelchain._component import ChainOutput, TextOutput
from otelchain.callbacks import (
    AsyncCallbackHandler,
    BaseCallbackHandler,
    CallbackManager,
    ConsoleCallbackHandler,
)
from otelchain.schema import RunInfo

__version__ = "0.1.0"

__all__ = [
    "AsyncCallbackHandler",
    "BaseCallbackHandler",
    "CallbackManager",
    "ChainOutput",
    "ConsoleCallbackHandler",
    "RunInfo",
    "TextOutput",
    "__version__",
]

# OTELCHAIN_TRACING=true: every run in the app becomes a span (otelchain.tracing.instrument()).
from otelchain.tracing._instrument import instrument_from_env as _instrument_from_env

_instrument_from_env()

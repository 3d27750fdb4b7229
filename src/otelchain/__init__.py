"""otelchain: LangChain-style callbacks for Python LLM apps, bridged to OpenTelemetry."""

from otelchain._component import ChainOutput, TextOutput
from otelchain._version import __version__
from otelchain.callbacks import AsyncCallbackHandler, BaseCallbackHandler, CallbackManager
from otelchain.callbacks._manager import set_verbose_handler as _set_verbose_handler
from otelchain.schema import RunInfo
from otelchain.tracing import ConsoleCallbackHandler
from otelchain.tracing._console.verbose import default_console_handler as _default_console_handler
from otelchain.tracing._setup.instrument import instrument_from_env as _instrument_from_env

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

# Wiring done here, above both layers: verbose mode's console handler comes from tracing.
_set_verbose_handler(_default_console_handler)

# OTELCHAIN_TRACING=true: every run in the app becomes a span (otelchain.tracing.instrument()).
_instrument_from_env()

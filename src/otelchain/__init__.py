"""otelchain: LangChain-style callbacks for Python LLM apps, bridged to OpenTelemetry."""

from collections.abc import Callable
from typing import Any

from otelchain import callbacks as _callbacks
from otelchain._component import ChainOutput, TextOutput
from otelchain._secrets import install_log_scrubbing as _install_log_scrubbing
from otelchain._version import __version__
from otelchain.callbacks import AsyncCallbackHandler, BaseCallbackHandler, CallbackManager
from otelchain.callbacks._manager import set_verbose_handler as _set_verbose_handler
from otelchain.schema import RunInfo
from otelchain.tracing import ConsoleCallbackHandler
from otelchain.tracing._console.verbose import default_console_handler as _default_console_handler
from otelchain.tracing._setup.instrument import add_framework as _add_framework
from otelchain.tracing._setup.instrument import instrument_from_env as _instrument_from_env
from otelchain.tracing._spans.context import add_bridge as _add_bridge

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

# Wiring done here, above the layers: verbose mode's console handler comes from tracing and is
# importable from callbacks (the README's path); tracing's first handler switches on the bridge
# to langchain-core, and `instrument()` adds its shared handler there: tracing itself never names
# the integrations (imported here on first use, so `import otelchain` stays light).
_set_verbose_handler(_default_console_handler)
setattr(_callbacks, "ConsoleCallbackHandler", ConsoleCallbackHandler)  # noqa: B010 (a module's name)


def _langchain_bridge() -> None:
    from otelchain.integrations._langchain import enable_context

    enable_context()


def _langchain_instrument(handler_of: Callable[[], Any]) -> None:
    from otelchain.integrations._langchain import enable

    enable(handler_of)


def _langchain_uninstrument() -> None:
    from otelchain.integrations._langchain import disable

    disable()


_add_bridge(_langchain_bridge)
_add_framework(_langchain_instrument, _langchain_uninstrument)

# Secrets never reach a log line: every otelchain logger's records are scrubbed.
_install_log_scrubbing(
    "otelchain.callbacks", "otelchain.integrations", "otelchain.models._openai", "otelchain.tracing"
)

# OTELCHAIN_TRACING=true: every run in the app becomes a span (otelchain.tracing.instrument()).
_instrument_from_env()

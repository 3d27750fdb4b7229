"""Callbacks: handlers, the managers that dispatch to them, and verbose mode.

Handlers subclass `BaseCallbackHandler` (or `AsyncCallbackHandler`, whose events are
coroutines), or are any object or mapping of ``on_*`` / ``handle*`` functions. A call builds a
`CallbackManager` (``AsyncCallbackManager`` in async code) from the request's and the object's
callbacks; each run gets one run manager, which LangChain's names
(``CallbackManagerForChainRun``, ``...ForLLMRun``, ``...ForToolRun``) all denote. A handler
that traces runs offers each run's context to the run managers through `RunContext`.
``ConsoleCallbackHandler`` (a tracing handler) is put here by the root package, so this package
never imports tracing.

Where things happen: events reach handlers in `_dispatch`; which handlers a call sees is decided
in `_manager`; the tree of runs that the tracing handlers build is in `_runs`.
"""

from otelchain.callbacks._base import AsyncCallbackHandler, BaseCallbackHandler
from otelchain.callbacks._dispatch import handler_error_counts, reset_handler_error_counts
from otelchain.callbacks._lifetime import RunAbandonedError
from otelchain.callbacks._manager import (
    AsyncCallbackManager,
    AsyncCallbackManagerForChainRun,
    AsyncCallbackManagerForLLMRun,
    AsyncCallbackManagerForToolRun,
    CallbackManager,
    CallbackManagerForChainRun,
    CallbackManagerForLLMRun,
    CallbackManagerForToolRun,
    Callbacks,
    RunContext,
    add_global_handler,
    get_verbose,
    remove_global_handler,
    set_verbose,
)

__all__ = [
    "AsyncCallbackHandler",
    "AsyncCallbackManager",
    "AsyncCallbackManagerForChainRun",
    "AsyncCallbackManagerForLLMRun",
    "AsyncCallbackManagerForToolRun",
    "BaseCallbackHandler",
    "CallbackManager",
    "CallbackManagerForChainRun",
    "CallbackManagerForLLMRun",
    "CallbackManagerForToolRun",
    "Callbacks",
    "RunAbandonedError",
    "RunContext",
    "add_global_handler",
    "get_verbose",
    "handler_error_counts",
    "remove_global_handler",
    "reset_handler_error_counts",
    "set_verbose",
]

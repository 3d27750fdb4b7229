"""Callbacks: handlers, the managers that dispatch to them, and the console handler.

Where things happen: events reach handlers in `_dispatch`; which handlers a call sees is decided
in `_manager`; the tree of runs that handlers build is in `_runs`.
"""

from otelchain.callbacks._base import AsyncCallbackHandler, BaseCallbackHandler
from otelchain.callbacks._console import ConsoleCallbackHandler
from otelchain.callbacks._dispatch import handler_error_counts, reset_handler_error_counts
from otelchain.callbacks._ids import uuid7
from otelchain.callbacks._manager import (
    AsyncCallbackManager,
    AsyncCallbackManagerForChainRun,
    AsyncCallbackManagerForLLMRun,
    AsyncCallbackManagerForRetrieverRun,
    AsyncCallbackManagerForToolRun,
    AsyncRunManager,
    BaseCallbackManager,
    BaseRunManager,
    CallbackManager,
    CallbackManagerForChainRun,
    CallbackManagerForLLMRun,
    CallbackManagerForRetrieverRun,
    CallbackManagerForToolRun,
    Callbacks,
    RunManager,
    add_global_handler,
    get_verbose,
    remove_global_handler,
    set_verbose,
)
from otelchain.callbacks._runs import Run, RunTreeHandler

__all__ = [
    "AsyncCallbackHandler",
    "AsyncCallbackManager",
    "AsyncCallbackManagerForChainRun",
    "AsyncCallbackManagerForLLMRun",
    "AsyncCallbackManagerForRetrieverRun",
    "AsyncCallbackManagerForToolRun",
    "AsyncRunManager",
    "BaseCallbackHandler",
    "BaseCallbackManager",
    "BaseRunManager",
    "CallbackManager",
    "CallbackManagerForChainRun",
    "CallbackManagerForLLMRun",
    "CallbackManagerForRetrieverRun",
    "CallbackManagerForToolRun",
    "Callbacks",
    "ConsoleCallbackHandler",
    "Run",
    "RunManager",
    "RunTreeHandler",
    "add_global_handler",
    "get_verbose",
    "handler_error_counts",
    "remove_global_handler",
    "reset_handler_error_counts",
    "set_verbose",
    "uuid7",
]

"""langchain-core and LangGraph: one shared tracing handler in every run tree, and each run's span
current while its body runs, so spans of other instrumentation (HTTP clients, a user's own
``start_as_current_span``) nest under the run that caused them.

**The handler.** langchain-core's public extension point ``register_configure_hook`` makes
``CallbackManager.configure`` add a handler to every run tree it builds: inheritable, and once (it
checks identity, so a tree never gets the shared handler twice). The hook reads only ``.get()``
of the object it is given; ours returns the handler of `instrument()`, or None once
`uninstrument()` ran (the hook list has no public removal, so the hook stays and goes inert).
A second hook adds verbose mode's console handler the same way while verbose mode is on. A
handler of the same provider that the app passes in ``callbacks`` keeps its runs: the shared one
skips them (`OpenTelemetryCallbackHandler.shared`), so a call gives one tree.

**The context.** A callback handler does not own the frame that runs a run's body, and no pair of
callbacks can attach and detach safely: async end callbacks run in a shielded task on a *copy* of
the context, ``batch`` ends sibling runs out of order, and a stream's consumer runs between the
run's start and end in the very context the start saw. So the span is made current by the frames
that run bodies, and only there:

- *Runnable, tool and graph-node bodies.* langchain-core (``set_config_context``) and LangGraph
  run a body inside a fresh ``contextvars`` copy, entered through their module-level
  ``_set_config_context(config)``; the child config names the run (``callbacks.parent_run_id``).
  Wrapping that function makes the run's span current *inside the copy*, which is dropped when the
  body returns: no detach is owed, and the caller's context is never touched. It covers
  ``invoke``/``ainvoke``, ``batch``/``abatch`` and ``RunnableParallel`` threads (each item and
  branch gets its own copy), and ``stream``/``astream``/``astream_events`` (every step of a stream
  runs in the stream's copy, so the consumer's code between chunks stays outside the span).
- *Model bodies.* Chat models and LLMs call the provider in the caller's own context, with no copy.
  Non-streaming calls pass the run manager to ``_generate_with_cache`` / ``_generate_helper``: the
  wrapper attaches the run's span and detaches it in its own frame (a coroutine's frame for async;
  one task, one context). Streams start their run inside the first ``next()``: the wrapper opens a
  claim (`otelchain.tracing._spans.context.claim_next_run`) around each step; the tracing handler that
  starts the model's run makes its span current at once (before the request is sent) and the
  wrapper detaches it before the step yields. Later steps attach and detach around ``next()``.
- *Agents.* ``create_agent`` runs carry ``lc_agent_name``; ``create_react_agent`` graphs carry no
  mark, so the graph's ``stream``/``astream`` wrapper recognises the structure (a ``ToolNode``
  node) and claims the graph's run as an agent run, whichever module the factory was imported from.
- *Resumed graphs.* ``PregelLoop._first`` links a run that resumes a thread to the run that
  paused it, through the checkpoint's metadata (`otelchain.integrations._langgraph`).

**Events a raising handler cut off.** langchain-core stops delivering an event at the first
handler with ``raise_error`` that raises, so the handlers after it never see that run's end (its
span would stay open) or see a start whose run then never runs. The wrappers of ``handle_event``
/ ``ahandle_event`` deliver, after such a raise, the cut-off end or error event to otelchain's
handlers (one that already ended the run ignores it) and end a run whose start raised with that
error.

**Secrets.** A model's configured key lives on the model (langchain-openai's ``openai_api_key``,
a pydantic ``SecretStr``), never in the events a handler gets; a server that echoes it in an
error would put it in the span status and exception event. The model wrappers register every
``SecretStr``/``SecretBytes`` field of the model they run (and secret-named header values) with
`otelchain._secrets.register_secret` before its first request, so it is scrubbed by value from
everything otelchain emits.

**Imports racing `instrument()`.** A module being imported by another thread is in
``sys.modules`` before its classes exist; its wrappers are then installed by a short-lived
thread that waits for that import to finish (``importlib`` blocks it on the module's import
lock), never left off.

Every wrapper is failure-proof (a fault in otelchain's part is logged once and the body runs as
it would) and removed by `disable`. The patched names are internal to langchain-core/LangGraph:
``tests/integrations`` fails if a release moves them.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import pydantic
import wrapt
from opentelemetry import context as otel_context

from otelchain._secrets import is_secret_key, register_header, register_secret
from otelchain.callbacks import _lifetime, get_verbose
from otelchain.callbacks._runs import RunTreeHandler
from otelchain.integrations._langgraph import loop_exit, loop_first
from otelchain.tracing._console.verbose import default_console_handler
from otelchain.tracing._spans.context import (
    Claim,
    claim_next_run,
    close_claim,
    live_handlers,
    run_context,
    run_state,
)

__all__ = ["disable", "disable_context", "enable", "enable_context"]

logger = logging.getLogger("otelchain.integrations")

_handler_getter: Callable[[], Any] | None = None
_context_enabled = False
_disable_pending = False  # `disable` waits for the runs still open to end
_hook_registered = False
_import_hooks_registered = False
_patched: list[tuple[Any, str]] = []  # (owner, attribute) of every wrapper in place
_warned: set[str] = set()


def _warn_once(where: str, error: BaseException) -> None:
    if where not in _warned:
        _warned.add(where)
        logger.warning("otelchain langchain bridge: %s failed (%s: %s)", where, type(error).__name__, error)


# --- the shared handler -----------------------------------------------------------------------
class _SharedHandler:
    """What ``register_configure_hook`` reads: the shared handler while instrumented, else None."""

    def get(self) -> Any:
        getter = _handler_getter
        return None if getter is None else getter()


class _VerboseHandler:
    """What the second hook reads: verbose mode's console handler while instrumented and verbose
    mode is on (``OTELCHAIN_VERBOSE``, ``set_verbose(True)``), else None."""

    def get(self) -> Any:
        if _handler_getter is None or not get_verbose():
            return None
        return default_console_handler()


def _register_configure_hook(_module: Any = None) -> None:
    global _hook_registered
    if _hook_registered:
        return
    from langchain_core.tracers.context import register_configure_hook

    register_configure_hook(_SharedHandler(), True)  # type: ignore[arg-type]  # only .get() is read
    register_configure_hook(_VerboseHandler(), True)  # type: ignore[arg-type]
    _hook_registered = True


# --- events a raising handler cut off ---------------------------------------------------------------
# A start event cut off ends its run with the error (on the error event of its run type).
_ERROR_OF_START = {
    "on_chain_start": "on_chain_error",
    "on_llm_start": "on_llm_error",
    "on_chat_model_start": "on_llm_error",
    "on_tool_start": "on_tool_error",
    "on_retriever_start": "on_retriever_error",
}
_ENDS = frozenset(
    f"on_{kind}_{outcome}" for kind in ("chain", "llm", "tool", "retriever") for outcome in ("end", "error")
)


def _deliver_cut_off(args: tuple[Any, ...], kwargs: dict[str, Any], error: BaseException) -> None:
    """After a handler raised inside ``handle_event(handlers, event, ignore, *event_args)``:
    otelchain's handlers get the run's end (re-sent: one that has it already ignores it), or the
    run whose start raised ends with ``error``."""
    try:
        handlers, event, ignore = args[0], args[1], args[2]
        run_id = kwargs.get("run_id")
        if run_id is None:
            return
        failed = _ERROR_OF_START.get(event)
        if failed is None and event not in _ENDS:
            return
        for handler in handlers:
            if not isinstance(handler, RunTreeHandler) or run_id not in handler.runs:
                continue
            if ignore is not None and getattr(handler, ignore, False):
                continue
            if failed is not None:
                getattr(handler, failed)(error, run_id=run_id, parent_run_id=kwargs.get("parent_run_id"))
            else:
                getattr(handler, event)(*args[3:], **kwargs)
    except Exception as failure:  # tracing must never break the app
        _warn_once("ending a run a raising handler cut off", failure)


def _handle_event(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return wrapped(*args, **kwargs)
    except BaseException as error:
        _deliver_cut_off(args, kwargs, error)
        raise


def _ahandle_event(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _ahandled(wrapped(*args, **kwargs), args, kwargs)


async def _ahandled(events: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        await events
    except BaseException as error:
        _deliver_cut_off(args, kwargs, error)
        raise


# Their frames sit between a handler and the code that started a run: not that code.
_lifetime.dispatches(_handle_event, _ahandle_event, _ahandled)


# --- context: runnable, tool and node bodies ----------------------------------------------------
def _body_context(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = wrapped(*args, **kwargs)
    try:
        config = args[0] if args else kwargs.get("config")
        callbacks = config.get("callbacks") if isinstance(config, Mapping) else None
        ctx = run_context(getattr(callbacks, "parent_run_id", None))
        if ctx is not None:
            otel_context.attach(ctx)  # inside the body's own copied context: dropped with it
        elif _disable_pending:
            _disable_when_idle()
    except Exception as error:
        _warn_once("body context", error)
    return result


# --- secrets: a model's configured key ---------------------------------------------------------
_models_seen: dict[int, weakref.ref[Any]] = {}  # by id: pydantic models are not hashable


def _note_secrets(model: Any) -> None:
    """Register the secrets a model holds (once per model object): its ``SecretStr`` /
    ``SecretBytes`` fields, and secret-named values of its mapping fields (``default_headers``)."""
    key = id(model)
    seen = _models_seen.get(key)
    if seen is not None and seen() is model:
        return
    try:
        fields = model.__dict__
        for name, value in list(fields.items()):
            _note_value(value)
            if isinstance(value, Mapping) and name != "metadata":
                for inner_name, inner in value.items():
                    if isinstance(inner, (pydantic.SecretStr, pydantic.SecretBytes)):
                        _note_value(inner)
                    elif name.endswith("headers"):  # default_headers: what a gateway's key rides in
                        register_header(str(inner_name), inner)
                    elif isinstance(inner, str) and is_secret_key(str(inner_name)):
                        register_secret(inner)
        _models_seen[key] = weakref.ref(model, functools.partial(_forget_model, key))
    except Exception as error:
        _warn_once("reading a model's secrets", error)


def _forget_model(key: int, _ref: object) -> None:
    _models_seen.pop(key, None)


def _note_value(value: Any) -> None:
    if isinstance(value, pydantic.SecretStr):
        register_secret(value.get_secret_value())
    elif isinstance(value, pydantic.SecretBytes):
        register_secret(value.get_secret_value().decode("utf-8", "replace"))


# --- context: model bodies -------------------------------------------------------------------------
def _run_id_of(run_manager: Any) -> Any:
    return getattr(run_manager, "run_id", None)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return kwargs[name] if name in kwargs else (args[index] if len(args) > index else None)


def _single_run_id(run_managers: Any) -> Any:
    if isinstance(run_managers, list) and len(run_managers) == 1:
        return _run_id_of(run_managers[0])
    return None  # several prompts in one provider call: no single run to nest under


def _frame_wrappers(find_run_id: Callable[[tuple[Any, ...], dict[str, Any]], Any]) -> tuple[Any, Any]:
    """Sync and async wrappers that make the call's run span current around the call, attaching
    and detaching in their own frame; ``find_run_id`` reads the run id from the call's arguments."""

    def sync(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        _note_secrets(instance)
        ctx = run_context(find_run_id(args, kwargs))
        if ctx is None:
            return wrapped(*args, **kwargs)
        token = otel_context.attach(ctx)
        try:
            return wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)

    async def asynchronous(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        _note_secrets(instance)
        ctx = run_context(find_run_id(args, kwargs))
        if ctx is None:
            return await wrapped(*args, **kwargs)
        token = otel_context.attach(ctx)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)

    return sync, asynchronous


# ``_generate_with_cache(messages, stop, run_manager)``: one run; ``_generate_helper(prompts, stop,
# run_managers)``: one provider call for all prompts, so only a single prompt has a run to nest under.
_generate, _agenerate = _frame_wrappers(lambda a, k: _run_id_of(_argument(a, k, 2, "run_manager")))
_generate_helper, _agenerate_helper = _frame_wrappers(
    lambda a, k: _single_run_id(_argument(a, k, 2, "run_managers"))
)


class _Step:
    """Around each step of one stream: the claim while the run has not started, then its span
    (looked up once, made current while the span is live)."""

    __slots__ = ("claim", "opened", "state", "token")

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.opened: Any = None
        self.token: Any = None
        self.state: Any = None

    def __enter__(self) -> None:
        claim = self.claim
        if claim.run_id is None:
            self.opened = claim_next_run(claim)
        elif claim.activate:
            state = self.state
            if state is None:
                state = self.state = run_state(claim.run_id) or _UNTRACED
            if state.live:  # not once the run has ended
                self.token = otel_context.attach(state.context())

    def __exit__(self, *exc: object) -> None:
        if self.opened is not None:
            self.claim.detach()
            close_claim(self.opened)
            self.opened = None
        elif self.token is not None:
            otel_context.detach(self.token)
            self.token = None


class _Untraced:
    """The state of a run no tracing handler traces: nothing to make current."""

    live = False


_UNTRACED = _Untraced()


def _claimed(stream: Iterator[Any], claim: Claim) -> Iterator[Any]:
    step = _Step(claim)
    try:
        while True:
            with step:
                try:
                    item = next(stream)
                except StopIteration:
                    return
            yield item
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # an abandoned or closed stream ends its run


async def _aclaimed(stream: AsyncIterator[Any], claim: Claim) -> AsyncIterator[Any]:
    step = _Step(claim)
    try:
        while True:
            with step:
                try:
                    item = await stream.__anext__()
                except StopAsyncIteration:
                    return
            yield item
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None and not getattr(stream, "ag_running", False) and not _loop_closing_generators():
            await aclose()


def _loop_closing_generators() -> bool:
    """Whether the running loop is shutting down its async generators: it closes every one left
    open at once (the one this wrapper wraps too), so closing it here as well would race with it
    (``aclose(): asynchronous generator is already running``, logged as an error)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return bool(getattr(loop, "_asyncgens_shutdown_called", False))


def _stream(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    _note_secrets(instance)
    return _claimed(wrapped(*args, **kwargs), Claim("llm"))


def _astream(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    _note_secrets(instance)
    return _aclaimed(wrapped(*args, **kwargs), Claim("llm"))


# --- agents: LangGraph graphs built like create_react_agent -----------------------------------
def _agent_name(graph: Any) -> str | None:
    """The agent name of a compiled graph that calls tools from a ``ToolNode``, else None."""
    try:
        nodes = getattr(graph, "nodes", None)
        if not isinstance(nodes, Mapping):
            return None
        from langgraph.prebuilt import ToolNode

        if any(isinstance(getattr(node, "bound", None), ToolNode) for node in nodes.values()):
            return str(getattr(graph, "name", None) or "LangGraph")
    except Exception as error:
        _warn_once("agent recognition", error)
    return None


def _graph_stream(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    name = _agent_name(instance)
    stream = wrapped(*args, **kwargs)
    return stream if name is None else _claimed(stream, Claim("chain", activate=False, agent_name=name))


def _graph_astream(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    name = _agent_name(instance)
    stream = wrapped(*args, **kwargs)
    return stream if name is None else _aclaimed(stream, Claim("chain", activate=False, agent_name=name))


# --- installing -----------------------------------------------------------------------------------
_CHAT = "langchain_core.language_models.chat_models"
_LLMS = "langchain_core.language_models.llms"
_PATCHES: dict[str, tuple[tuple[str, Callable[..., Any]], ...]] = {
    "langchain_core.callbacks.manager": (("handle_event", _handle_event), ("ahandle_event", _ahandle_event)),
    "langchain_core.runnables.config": (("_set_config_context", _body_context),),
    "langgraph._internal._runnable": (("_set_config_context", _body_context),),
    _CHAT: (
        ("BaseChatModel._generate_with_cache", _generate),
        ("BaseChatModel._agenerate_with_cache", _agenerate),
        ("BaseChatModel.stream", _stream),
        ("BaseChatModel.astream", _astream),
    ),
    _LLMS: (
        ("BaseLLM._generate_helper", _generate_helper),
        ("BaseLLM._agenerate_helper", _agenerate_helper),
        ("BaseLLM.stream", _stream),
        ("BaseLLM.astream", _astream),
    ),
    "langgraph.pregel.main": (("Pregel.stream", _graph_stream), ("Pregel.astream", _graph_astream)),
    "langgraph.pregel._loop": (  # resume links and static breakpoints (`_langgraph`)
        ("PregelLoop._first", loop_first),
        ("SyncPregelLoop.__exit__", loop_exit),
        ("AsyncPregelLoop.__aexit__", loop_exit),
    ),
}


def _owner(module: Any, dotted: str) -> tuple[Any, str]:
    *path, attribute = dotted.split(".")
    owner = module
    for part in path:
        owner = getattr(owner, part)
    return owner, attribute


def _patch_module(module: Any) -> None:
    """Wrap what `_PATCHES` names in a freshly imported (or already imported) module; one that
    another thread is still importing is wrapped once that import has finished."""
    if not _context_enabled:
        return
    if getattr(getattr(module, "__spec__", None), "_initializing", False):
        _patch_when_imported(module.__name__)
        return
    for dotted, wrapper in _PATCHES.get(module.__name__, ()):
        try:
            owner, attribute = _owner(module, dotted)
            current = owner.__dict__.get(attribute) if isinstance(owner, type) else getattr(owner, attribute)
            if isinstance(current, wrapt.FunctionWrapper):
                continue  # already ours
            if current is None:
                raise AttributeError(f"{module.__name__}.{dotted} is gone")
            wrapt.wrap_function_wrapper(owner, attribute, wrapper)
            _patched.append((owner, attribute))
        except Exception as error:  # a moved internal: spans still work, nesting degrades
            _warn_once(f"patching {module.__name__}.{dotted}", error)


_waiting: set[str] = set()  # modules whose import another thread is finishing
_waiting_lock = threading.Lock()


def _patch_when_imported(name: str) -> None:
    """Wrap module ``name`` once its import, under way in another thread, has finished: a
    daemon thread imports it too, which blocks on the module's import lock until then."""
    with _waiting_lock:
        if name in _waiting:
            return
        _waiting.add(name)

    def wait_and_patch() -> None:
        try:
            module = importlib.import_module(name)
        except BaseException as error:  # the import failed in its own thread: nothing to wrap
            _warn_once(f"waiting for the import of {name}", error)
            return
        finally:
            with _waiting_lock:
                _waiting.discard(name)
        _patch_module(module)

    threading.Thread(target=wait_and_patch, name=f"otelchain-patch {name}", daemon=True).start()


def enable_context() -> None:
    """Make runs' spans current in langchain-core/LangGraph bodies (now, or once imported).

    Called when the first tracing handler is made (also one passed only in ``callbacks``).
    """
    global _context_enabled, _import_hooks_registered
    if _context_enabled:
        return
    _context_enabled = True
    if not _import_hooks_registered:
        # wrapt runs each hook now if the module is already imported, else right after its import
        wrapt.register_post_import_hook(_register_configure_hook, "langchain_core.tracers.context")
        for name in _PATCHES:
            wrapt.register_post_import_hook(_patch_module, name)
        _import_hooks_registered = True
        return
    for name in _PATCHES:
        module = sys.modules.get(name)
        if module is not None:
            _patch_module(module)


def disable_context() -> None:
    """Remove every wrapper `enable_context` put in place."""
    global _context_enabled
    _context_enabled = False
    while _patched:
        owner, attribute = _patched.pop()
        current = owner.__dict__.get(attribute) if isinstance(owner, type) else getattr(owner, attribute)
        if isinstance(current, wrapt.FunctionWrapper):
            setattr(owner, attribute, current.__wrapped__)


def enable(handler_getter: Callable[[], Any]) -> None:
    """Add ``handler_getter()`` to every langchain-core run tree (now, or once it is imported)."""
    global _handler_getter, _disable_pending
    _handler_getter = handler_getter
    _disable_pending = False
    enable_context()
    if "langchain_core.tracers.context" in sys.modules:
        _register_configure_hook()


def disable() -> None:
    """Undo `enable`: no shared handler in new run trees; the wrappers go too unless a handler
    the app made itself is still alive, once the runs still open have ended (their bodies still
    make their spans current, so other instrumentation's spans in them still nest)."""
    global _handler_getter, _disable_pending
    _handler_getter = None
    _disable_pending = True
    _disable_when_idle()


def _disable_when_idle() -> None:
    """Remove the wrappers if `disable` asked for it and no run a live handler traces is open
    (checked again by the next body that finds no run to make current)."""
    global _disable_pending
    handlers = live_handlers()
    if any(not handler.shared for handler in handlers):
        _disable_pending = False  # a handler the app made keeps them
    elif not any(handler.runs for handler in handlers):
        _disable_pending = False
        disable_context()

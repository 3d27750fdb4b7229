"""Tools: named functions an agent (or a chat model's tool calls) can run, each run a callback run.

`BaseTool.run` emits ``on_tool_start`` / ``on_tool_end`` / ``on_tool_error`` and makes the run's
span current around the tool body, so spans created inside a tool nest under it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Union, overload
from uuid import UUID

import pydantic

from otelchain._component import (
    Component,
    Envelope,
    RequestConfig,
    TextOutput,
    check_options,
    split_config,
)
from otelchain.callbacks._manager import (
    AsyncCallbackManagerForToolRun,
    AsyncRunManager,
    BaseRunManager,
    CallbackManagerForToolRun,
    Callbacks,
    RunManager,
)
from otelchain.schema import ToolCall, ToolMessage

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "BaseTool",
    "HandleToolError",
    "StructuredTool",
    "Tool",
    "ToolException",
    "tool",
]


class ToolOptions(TypedDict, total=False):
    """The keyword options of `BaseTool.run` and `BaseTool.arun`."""

    tags: list[str] | None
    metadata: dict[str, Any] | None
    run_name: str | None
    run_id: UUID | str | None
    tool_call_id: str | None  # the model's tool call this run answers


class ToolException(Exception):
    """A tool's expected failure (bad input, a failed lookup): with ``handle_tool_error`` set,
    its message becomes the tool's output, so an agent sees it as an observation and recovers."""


HandleToolError = Union[bool, str, Callable[[ToolException], str]]  # noqa: UP007 (runtime alias, py3.10)

# Parameters a tool function may declare to receive the run's callbacks instead of model input.
_INJECTED = frozenset({"callbacks", "run_manager"})

_SINGLE_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"tool_input": {"type": "string"}},
    "required": ["tool_input"],
}


def _output(run: Envelope) -> Any:
    """A tool run's result: a ``str`` output names its run (`TextOutput`)."""
    return TextOutput(run.output, run.info) if isinstance(run.output, str) else run.output


class BaseTool(Component):
    """Base class of tools. Subclasses set ``name`` and ``description`` and implement ``_run``
    (positional input for single-input tools, keyword arguments for structured ones); ``_arun``
    defaults to ``_run`` in a worker thread (contextvars, hence the current span, kept).

    ``_run`` may declare a ``run_manager`` keyword to receive the tool's run manager (use
    ``run_manager.get_child()`` as ``callbacks=`` for sub-calls).
    """

    type_name = "tool"
    name: str = ""  # a plain attribute (overrides Component.name), settable per instance
    description: str = ""
    return_direct: bool = False
    handle_tool_error: HandleToolError = False
    args_schema: dict[str, Any] = _SINGLE_INPUT_SCHEMA

    def __init__(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        return_direct: bool | None = None,
        handle_tool_error: HandleToolError | None = None,
        args_schema: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # callbacks, verbose, tags, metadata
        if name is not None:
            self.name = name
        if description is not None:
            self.description = description
        if return_direct is not None:
            self.return_direct = return_direct
        if handle_tool_error is not None:
            self.handle_tool_error = handle_tool_error
        if args_schema is not None:
            self.args_schema = dict(args_schema)
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"{type(self).__name__} needs a non-empty name")
        if not isinstance(self.description, str):
            raise TypeError(f"tool {self.name!r}: description must be a str")

    # --- schema --------------------------------------------------------------------------------
    @property
    def parameters(self) -> dict[str, Any]:
        """The tool's arguments as a JSON schema (what a chat model's tool binding sends)."""
        return self.args_schema

    @property
    def args(self) -> dict[str, Any]:
        """The JSON schema's properties, by argument name."""
        props = self.args_schema.get("properties", {})
        return dict(props) if isinstance(props, Mapping) else {}

    def to_openai_tool(self) -> dict[str, Any]:
        """The tool in the chat-completions ``tools=[...]`` format."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def serialized(self) -> dict[str, Any]:
        """Handlers see the tool's name (``{"name": "calculator", ...}``) and description."""
        data = super().serialized()
        data["description"] = self.description
        return data

    def _serialized_kwargs(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # --- what subclasses provide ---------------------------------------------------------------
    def _run(self, *args: Any, **kwargs: Any) -> Any:
        """Run the tool; raise `ToolException` for failures the agent should see."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _run")

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        """Async `_run`; default runs ``_run`` in a worker thread with the caller's contextvars."""
        return await asyncio.to_thread(self._run, *args, **kwargs)

    def _to_args_and_kwargs(
        self, tool_input: str | Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """A string is the single positional input; a mapping gives keyword arguments."""
        if isinstance(tool_input, str):
            return (tool_input,), {}
        return (), dict(tool_input)

    def _begin(
        self, tool_input: Any, callbacks: Callbacks, options: ToolOptions, configure: Callable[..., Any]
    ) -> tuple[str | dict[str, Any], Any, Callable[[], Any]]:
        """Check the call and build its manager; returns the checked input, the manager, the start."""
        check_options(options, ToolOptions)
        if not isinstance(tool_input, (str, Mapping)):
            raise TypeError(
                f"tool {self.name!r} takes a str or a dict of arguments, got {type(tool_input).__name__}"
            )
        checked = tool_input if isinstance(tool_input, str) else dict(tool_input)
        extra: dict[str, Any] = {}
        if options.get("tool_call_id"):
            extra["tool_call_id"] = options["tool_call_id"]
        input_str = checked if isinstance(checked, str) else str(checked)
        inputs = checked if isinstance(checked, dict) else None
        cm, start = self._start(
            callbacks, options, configure, "on_tool_start", input_str, inputs=inputs, **extra
        )
        return checked, cm, start

    # --- public API ----------------------------------------------------------------------------
    def run(
        self, tool_input: str | Mapping[str, Any], callbacks: Callbacks = None, **options: Unpack[ToolOptions]
    ) -> Any:
        """Run the tool as one callback run and return its output (a ``str`` output is a
        `TextOutput` with ``.run_info``).

        A `ToolException` becomes the output when ``handle_tool_error`` is set (the run ends
        normally, with that text); any other error ends the run with ``on_tool_error`` and
        propagates. ``tool_call_id`` names the model's tool call this run answers.
        """
        checked, cm, start = self._begin(tool_input, callbacks, options, self._configure)
        with Envelope(cm, start, end_kwargs={"name": self.name}) as run:
            try:
                args, kwargs = self._call_args(checked, run.rm)
                run.output = self._run(*args, **kwargs)
            except ToolException as error:
                run.output = self._tool_error_output(error)
        return _output(run)

    async def arun(
        self, tool_input: str | Mapping[str, Any], callbacks: Callbacks = None, **options: Unpack[ToolOptions]
    ) -> Any:
        """Async `run` (uses the tool's coroutine when it has one)."""
        checked, cm, start = self._begin(tool_input, callbacks, options, self._aconfigure)
        async with Envelope(cm, start, end_kwargs={"name": self.name}) as run:
            try:
                args, kwargs = self._call_args(checked, run.rm)
                run.output = await self._arun(*args, **kwargs)
            except ToolException as error:
                run.output = self._tool_error_output(error)
        return _output(run)

    def _call_args(
        self, checked: str | dict[str, Any], rm: RunManager | AsyncRunManager
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The body's arguments; the run manager is passed when the body declares one (the
        sync one when async code falls back to ``_run`` in a thread)."""
        args, kwargs = self._to_args_and_kwargs(checked)
        body: Callable[..., Any] = self._run
        if isinstance(rm, AsyncRunManager):
            if type(self)._arun is BaseTool._arun:
                rm = rm.get_sync()
            else:
                body = self._arun
        if "run_manager" in _parameters(getattr(body, "__func__", body)):
            kwargs["run_manager"] = rm
        return args, kwargs

    def _tool_error_output(self, error: ToolException) -> str:
        """With ``handle_tool_error`` set a `ToolException` becomes the output (LangChain's
        rules: the given text, the function's text, or the error's); else it propagates."""
        flag = self.handle_tool_error
        if not flag:
            raise error
        if isinstance(flag, str):
            return flag
        if callable(flag):
            return str(flag(error))
        return str(error.args[0]) if error.args else "Tool execution error"

    def invoke(self, input: Any, config: RequestConfig | None = None, **kwargs: Any) -> Any:
        """LangChain-style: ``input`` is a str, an argument dict, or a model's tool call (then a
        `ToolMessage` answering that call is returned); ``config`` may carry callbacks etc."""
        call, tool_input, options = _invoke_args(input, config, kwargs)
        return self._answer(call, self.run(tool_input, **options))

    async def ainvoke(self, input: Any, config: RequestConfig | None = None, **kwargs: Any) -> Any:
        """Async `invoke`."""
        call, tool_input, options = _invoke_args(input, config, kwargs)
        return self._answer(call, await self.arun(tool_input, **options))

    def _answer(self, call: ToolCall | None, output: Any) -> Any:
        """The output, or the `ToolMessage` answering a model's tool call (non-text as JSON)."""
        if call is None:
            return output
        if isinstance(output, str):
            content = str(output)
        else:
            try:
                content = json.dumps(output, default=str, ensure_ascii=False)
            except (TypeError, ValueError):
                content = str(output)
        return ToolMessage(content, tool_call_id=call.id or "", name=self.name)


def _invoke_args(
    input: Any, config: RequestConfig | None, kwargs: dict[str, Any]
) -> tuple[ToolCall | None, Any, dict[str, Any]]:
    """`invoke`'s tool call (if the input is one), the tool input, and `run`'s options."""
    options = split_config(config, kwargs)
    if kwargs:
        raise TypeError(f"unexpected keyword argument(s) {sorted(kwargs)}")
    call = _as_tool_call(input)
    if call is not None:
        input, options["tool_call_id"] = call.args, call.id
    return call, input, options


def _as_tool_call(value: Any) -> ToolCall | None:
    """A `ToolCall`, or a dict shaped like one (``{"name", "args", "id", "type": "tool_call"}``)."""
    if isinstance(value, ToolCall):
        return value
    if (
        isinstance(value, Mapping)
        and value.get("type") == "tool_call"
        and isinstance(value.get("args"), Mapping)
    ):
        return ToolCall(str(value.get("name", "")), dict(value["args"]), value.get("id"))
    return None


def _parameters(fn: Callable[..., Any]) -> frozenset[str]:
    """The names of ``fn``'s parameters (cached when ``fn`` is hashable: tools run many times)."""
    try:
        return _signature_names(fn)
    except TypeError:  # an unhashable callable object
        return _signature_names.__wrapped__(fn)


@functools.lru_cache(maxsize=1024)
def _signature_names(fn: Callable[..., Any]) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return frozenset()


def _call_with_injected(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], rm: BaseRunManager | None
) -> Any:
    """Call a tool function, giving it ``callbacks``/``run_manager`` when it declares them."""
    params = _parameters(fn)
    if rm is not None:
        if "run_manager" in params:
            kwargs["run_manager"] = rm
        if "callbacks" in params:
            kwargs["callbacks"] = rm.get_child()  # type: ignore[attr-defined]
    return fn(*args, **kwargs)


class _FunctionTool(BaseTool):
    """A tool whose body is a user function (``func``) and/or its async twin (``coroutine``)."""

    def __init__(
        self,
        name: str,
        description: str,
        func: Callable[..., Any] | None = None,
        coroutine: Callable[..., Awaitable[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        kind = type(self).__name__
        source = func if func is not None else coroutine
        if source is None:
            raise ValueError(f"{kind} {name!r} needs func or coroutine")
        if func is not None and not callable(func):
            raise TypeError(f"{kind} {name!r}: func must be callable, got {type(func).__name__}")
        if coroutine is not None and not inspect.iscoroutinefunction(coroutine):
            raise TypeError(f"{kind} {name!r}: coroutine must be an async function")
        schema = self._signature_schema(source, name)
        if schema is not None:
            kwargs.setdefault("args_schema", schema)
        super().__init__(name=name, description=description, **kwargs)
        self.func = func
        self.coroutine = coroutine

    def _signature_schema(self, fn: Callable[..., Any], name: str) -> dict[str, Any] | None:
        """The default ``args_schema`` read from the function (None: single input)."""
        return None

    def _run(self, *args: Any, run_manager: CallbackManagerForToolRun | None = None, **kwargs: Any) -> Any:
        if self.func is not None:
            return _call_with_injected(self.func, args, kwargs, run_manager)
        assert self.coroutine is not None  # a function tool has one or the other
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # an async-only tool from sync code: run its coroutine here
            return asyncio.run(_call_with_injected(self.coroutine, args, kwargs, run_manager))
        raise RuntimeError(
            f"tool {self.name!r} only has a coroutine and an event loop is running here; use arun()/ainvoke()"
        )

    async def _arun(
        self, *args: Any, run_manager: AsyncCallbackManagerForToolRun | None = None, **kwargs: Any
    ) -> Any:
        if self.coroutine is not None:
            return await _call_with_injected(self.coroutine, args, kwargs, run_manager)
        sync_rm = run_manager.get_sync() if run_manager is not None else None
        return await asyncio.to_thread(self._run, *args, run_manager=sync_rm, **kwargs)


class Tool(_FunctionTool):
    """A single-input tool from a function: ``Tool("search", "Look things up.", func)``.

    ``func`` takes one string; ``coroutine`` (optional) is its async twin, used by `arun`.
    Either may declare ``callbacks`` (gets the child manager) or ``run_manager``.
    """

    def _to_args_and_kwargs(
        self, tool_input: str | Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if isinstance(tool_input, str):
            return (tool_input,), {}
        if len(tool_input) != 1:
            raise ToolException(
                f"tool {self.name!r} takes a single input; got arguments {sorted(tool_input)}"
            )
        return (next(iter(tool_input.values())),), {}


# --- structured tools and @tool ------------------------------------------------------------------


def _signature_model(fn: Callable[..., Any], model_name: str) -> type[pydantic.BaseModel]:
    """A pydantic model of ``fn``'s parameters (minus injected ones), for validation and schema."""
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to Any
        hints = {}
    described = _arg_descriptions(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    for param in sig.parameters.values():
        if param.name in _INJECTED or param.name in ("self", "cls"):
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, pydantic.Field(default, description=described.get(param.name)))
    try:
        model: type[pydantic.BaseModel] = pydantic.create_model(model_name, **fields)
        model.model_json_schema()
    except Exception as error:
        raise TypeError(
            f"cannot build an argument schema for tool {model_name.removesuffix('_args')!r} from "
            f"its signature: {error}"
        ) from None
    return model


_ARG_HEADERS = frozenset({"Args:", "Arguments:", "Parameters:"})
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _arg_descriptions(doc: str) -> dict[str, str]:
    """Per-argument descriptions from a Google-style ``Args:`` section, if the docstring has one."""
    lines = doc.splitlines()
    header = next((i for i, line in enumerate(lines) if line.strip() in _ARG_HEADERS), None)
    descriptions: dict[str, str] = {}
    if header is None:
        return descriptions
    base: int | None = None
    current: str | None = None
    for line in lines[header + 1 :]:
        indent = len(line) - len(line.lstrip())
        if not line.strip() or indent == 0:  # a blank line or the next section ends it
            break
        base = indent if base is None else base
        match = _ARG_LINE.match(line)
        if indent == base and match:
            current = match.group(1).lstrip("*")
            descriptions[current] = match.group(2).strip()
        elif current is not None and indent > base:
            descriptions[current] += " " + line.strip()
        else:
            break
    return descriptions


def _json_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    schema.setdefault("properties", {})
    return schema


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text.strip().strip("`"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class StructuredTool(_FunctionTool):
    """A tool with typed keyword arguments, validated against the function's signature.

    Built by `@tool` or `StructuredTool.from_function`; ``args_schema`` is the JSON schema of the
    signature, so a chat model can be given the tool.
    """

    def _signature_schema(self, fn: Callable[..., Any], name: str) -> dict[str, Any]:
        """The arguments' JSON schema; the model behind it validates each run's arguments."""
        self._model = _signature_model(fn, f"{name}_args")
        return _json_schema(self._model)

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any] | None = None,
        coroutine: Callable[..., Awaitable[Any]] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> StructuredTool:
        """Name from the function, description from its docstring, arguments from its signature."""
        source = func if func is not None else coroutine
        if source is None:
            raise ValueError("from_function needs func or coroutine")
        if func is not None and inspect.iscoroutinefunction(func):
            func, coroutine = None, func
        tool_name = name or getattr(source, "__name__", None)
        if not tool_name:
            raise ValueError("tool needs a name (the function has none)")
        doc = description if description is not None else inspect.getdoc(source)
        if not doc:
            raise ValueError(f"tool {tool_name!r}: give the function a docstring or pass description=")
        return cls(name=tool_name, description=doc, func=func, coroutine=coroutine, **kwargs)

    def _to_args_and_kwargs(
        self, tool_input: str | Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        fields = list(self._model.model_fields)
        if isinstance(tool_input, str):
            if len(fields) == 1:
                tool_input = {fields[0]: tool_input}
            else:  # a ReAct agent writes the arguments as a JSON object after "Action Input:"
                parsed = _json_object(tool_input)
                if parsed is None:
                    raise ToolException(
                        f"tool {self.name!r} takes arguments {fields} as a JSON object; "
                        f"got {tool_input[:80]!r}"
                    )
                tool_input = parsed
        try:
            validated = self._model.model_validate(dict(tool_input))
        except pydantic.ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in error.errors()
            )
            raise ToolException(f"invalid arguments for tool {self.name!r}: {problems}") from None
        return (), {k: getattr(validated, k) for k in fields}


@overload
def tool(name_or_func: Callable[..., Any], /) -> StructuredTool: ...


@overload
def tool(
    name_or_func: str | None = None,
    /,
    *,
    description: str | None = None,
    return_direct: bool = False,
    handle_tool_error: HandleToolError = False,
) -> Callable[[Callable[..., Any]], StructuredTool]: ...


def tool(
    name_or_func: str | Callable[..., Any] | None = None,
    /,
    *,
    description: str | None = None,
    return_direct: bool = False,
    handle_tool_error: HandleToolError = False,
) -> StructuredTool | Callable[[Callable[..., Any]], StructuredTool]:
    """Make a tool from a function (sync or async): ``@tool``, ``@tool("name")`` or
    ``@tool(return_direct=True)``. Name from the function, description from its docstring."""

    def make(fn: Callable[..., Any], name: str | None) -> StructuredTool:
        if not callable(fn):
            raise TypeError(f"@tool decorates a function, got {type(fn).__name__}")
        return StructuredTool.from_function(
            fn,
            name=name,
            description=description,
            return_direct=return_direct,
            handle_tool_error=handle_tool_error,
        )

    if callable(name_or_func):
        return make(name_or_func, None)
    if name_or_func is not None and not isinstance(name_or_func, str):
        raise TypeError(f"@tool takes a function or a name, got {type(name_or_func).__name__}")
    return lambda fn: make(fn, name_or_func)

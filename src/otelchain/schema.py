"""Data types passed between models, chains, agents and callbacks.

`AgentAction` and `AgentFinish` are defined here (callbacks carry them) and exported by
`otelchain.agents`, their one public home.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal
from uuid import UUID

__all__ = [
    "AIMessage",
    "AIMessageChunk",
    "BaseMessage",
    "ChatGeneration",
    "ChatGenerationChunk",
    "ChatMessage",
    "Document",
    "Generation",
    "GenerationChunk",
    "HumanMessage",
    "LLMResult",
    "MessageLike",
    "RunInfo",
    "SystemMessage",
    "ToolCall",
    "ToolMessage",
    "coerce_messages",
    "get_buffer_string",
]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Identifies the run that produced an output; trace and span ids are set when traced."""

    run_id: UUID
    trace_id: str | None = None
    span_id: str | None = None


# --- messages -------------------------------------------------------------------------------


@dataclass(slots=True)
class ToolCall:
    """A model's request to call a tool."""

    name: str
    args: dict[str, Any]
    id: str | None = None


@dataclass(slots=True)
class BaseMessage:
    """A chat message. `type` is LangChain's message type; `role` the OpenAI role."""

    content: str
    _: KW_ONLY
    name: str | None = None
    additional_kwargs: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    type: ClassVar[str] = "base"
    role: ClassVar[str] = "user"

    def __post_init__(self) -> None:
        if not isinstance(self.content, str):
            raise TypeError(f"{type(self).__name__} content must be a str, got {type(self.content).__name__}")

    @property
    def text(self) -> str:
        return self.content


@dataclass(slots=True)
class SystemMessage(BaseMessage):
    """Instructions for the model."""

    type: ClassVar[str] = "system"
    role: ClassVar[str] = "system"


@dataclass(slots=True)
class HumanMessage(BaseMessage):
    """A message from the user."""

    type: ClassVar[str] = "human"
    role: ClassVar[str] = "user"


@dataclass(slots=True)
class AIMessage(BaseMessage):
    """A message from the model, possibly with tool calls and usage; `run_info` names its run."""

    _: KW_ONLY
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage_metadata: dict[str, int] | None = None
    response_metadata: dict[str, Any] = field(default_factory=dict)
    run_info: RunInfo | None = field(default=None, compare=False, repr=False)
    type: ClassVar[str] = "ai"
    role: ClassVar[str] = "assistant"


@dataclass(slots=True)
class AIMessageChunk(AIMessage):
    """A streamed piece of an AI message."""

    type: ClassVar[str] = "AIMessageChunk"


@dataclass(slots=True)
class ToolMessage(BaseMessage):
    """The result of a tool call, sent back to the model."""

    _: KW_ONLY
    tool_call_id: str
    type: ClassVar[str] = "tool"
    role: ClassVar[str] = "tool"


@dataclass(slots=True)
class ChatMessage(BaseMessage):
    """A message with an arbitrary role."""

    _: KW_ONLY
    role: str  # type: ignore[misc]
    type: ClassVar[str] = "chat"


_PREFIXES = {"system": "System", "human": "Human", "ai": "AI", "tool": "Tool", "AIMessageChunk": "AI"}
_BY_ROLE: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "developer": SystemMessage,
    "user": HumanMessage,
    "human": HumanMessage,
    "assistant": AIMessage,
    "ai": AIMessage,
}

MessageLike = BaseMessage | str | tuple[str, str] | Mapping[str, Any]


def coerce_messages(messages: str | BaseMessage | Iterable[MessageLike]) -> list[BaseMessage]:
    """Turn a string, a message, ``(role, content)`` tuples or role/content dicts into messages."""
    if isinstance(messages, str):
        return [HumanMessage(messages)]
    if isinstance(messages, BaseMessage):
        return [messages]
    if isinstance(messages, Mapping):
        messages = [messages]
    out: list[BaseMessage] = []
    for i, m in enumerate(messages):
        if isinstance(m, BaseMessage):
            out.append(m)
        elif isinstance(m, str):
            out.append(HumanMessage(m))
        elif isinstance(m, tuple) and len(m) == 2:
            out.append(_from_role(str(m[0]), m[1], i))
        elif isinstance(m, Mapping) and "role" in m:
            extra = {k: v for k, v in m.items() if k in ("name", "tool_call_id", "id")}
            if m["role"] == "tool":
                out.append(ToolMessage(str(m.get("content") or ""), **extra))
            else:
                out.append(_from_role(str(m["role"]), m.get("content") or "", i, **extra))
        else:
            raise TypeError(
                f"message {i} is a {type(m).__name__}; expected a message, a str, "
                "a (role, content) tuple or a {'role': ..., 'content': ...} dict"
            )
    return out


def _from_role(role: str, content: Any, index: int, **extra: Any) -> BaseMessage:
    if not isinstance(content, str):
        raise TypeError(f"message {index} content must be a str, got {type(content).__name__}")
    cls = _BY_ROLE.get(role)
    if cls is None:
        return ChatMessage(content, role=role, **extra)
    return cls(content, **extra)


def get_buffer_string(messages: Sequence[BaseMessage]) -> str:
    """Render messages as ``Human: ...`` lines, as LangChain does for completion-style handlers."""
    lines = []
    for m in messages:
        prefix = m.role if isinstance(m, ChatMessage) else _PREFIXES.get(m.type, m.type)
        lines.append(f"{prefix}: {m.content}")
    return "\n".join(lines)


# --- model results --------------------------------------------------------------------------


@dataclass(slots=True)
class Generation:
    """One completion of a prompt."""

    text: str
    generation_info: dict[str, Any] | None = None
    type: Literal["Generation"] = "Generation"


@dataclass(slots=True)
class GenerationChunk:
    """A streamed piece of a completion."""

    text: str
    generation_info: dict[str, Any] | None = None


@dataclass(slots=True, init=False)
class ChatGeneration:
    """One chat completion: the message, with its text mirrored for completion-style readers."""

    message: BaseMessage
    generation_info: dict[str, Any] | None
    text: str
    type: Literal["ChatGeneration"]

    def __init__(self, message: BaseMessage, generation_info: dict[str, Any] | None = None) -> None:
        self.message = message
        self.generation_info = generation_info
        self.text = message.content
        self.type = "ChatGeneration"


@dataclass(slots=True)
class ChatGenerationChunk:
    """A streamed piece of a chat completion."""

    message: AIMessageChunk
    generation_info: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return self.message.content


@dataclass(slots=True)
class LLMResult:
    """What a model run returns: generations per prompt plus provider output (usage, model)."""

    generations: list[list[Generation | ChatGeneration]]
    llm_output: dict[str, Any] | None = None
    run: list[RunInfo] | None = field(default=None, compare=False)


# --- agents and retrievers ------------------------------------------------------------------


@dataclass(slots=True)
class AgentAction:
    """The tool an agent chose, its input, and the model text that led there."""

    tool: str
    tool_input: str | dict[str, Any]
    log: str


@dataclass(slots=True)
class AgentFinish:
    """An agent's final answer."""

    return_values: dict[str, Any]
    log: str


@dataclass(slots=True)
class Document:
    """A retrieved piece of text."""

    page_content: str
    metadata: dict[str, Any] = field(default_factory=dict)

"""Tools: functions agents and chat models can call, each call a callback run (``on_tool_*``)."""

from otelchain.tools._base import BaseTool, HandleToolError, StructuredTool, Tool, ToolException, tool
from otelchain.tools._calculator import Calculator

__all__ = ["BaseTool", "Calculator", "HandleToolError", "StructuredTool", "Tool", "ToolException", "tool"]

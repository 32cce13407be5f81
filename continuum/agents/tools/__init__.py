"""Tools for agents: the ``@tool`` decorator, the registry and the built-in tools."""

from continuum.agents.tools.base import FunctionTool, ToolContext, ToolError, tool
from continuum.agents.tools.builtins import (
    BUILTIN_TOOLS,
    HttpGetSettings,
    ScratchpadSettings,
    ToolSettings,
    builtin_tools,
)
from continuum.agents.tools.registry import ToolRegistry

__all__ = [
    "BUILTIN_TOOLS",
    "FunctionTool",
    "HttpGetSettings",
    "ScratchpadSettings",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "ToolSettings",
    "builtin_tools",
    "tool",
]

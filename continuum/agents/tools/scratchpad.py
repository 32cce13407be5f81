"""The ``scratchpad`` tool: notes a model keeps during one conversation, bounded in size.

The notes live in the conversation's ``ToolContext.state``, so two conversations never
see each other's notes, and a caller that keeps the context keeps the notes.
"""

from __future__ import annotations

from typing import Any, Literal

from continuum.agents.tools.base import FunctionTool, ToolContext, ToolError

STATE_KEY = "scratchpad"


def scratchpad_tool(
    *, max_keys: int = 64, max_key_chars: int = 128, max_value_chars: int = 4096
) -> FunctionTool:
    """A key-value scratchpad tool with the given bounds."""

    def scratchpad(
        action: Literal["set", "get", "list", "delete"],
        key: str | None = None,
        value: str | None = None,
        *,
        context: ToolContext,
    ) -> dict[str, Any]:
        """Keep notes during this conversation: set, get, delete or list them by key.

        Args:
            action: "set" stores value under key, "get" reads key, "delete" removes
                key, "list" names every key.
            key: The note's name (for set, get and delete).
            value: The text to store (for set).
        """
        notes: dict[str, str] = context.state.setdefault(STATE_KEY, {})
        if action == "list":
            return {"keys": sorted(notes)}
        if not key:
            raise ToolError(f"{action} needs a key")
        if action == "get":
            if key not in notes:
                raise ToolError(f"no note named {key!r}; the notes are: {sorted(notes)}")
            return {"key": key, "value": notes[key]}
        if action == "delete":
            removed = notes.pop(key, None) is not None
            return {"key": key, "deleted": removed}
        if value is None:
            raise ToolError("set needs a value")
        if len(key) > max_key_chars:
            raise ToolError(f"keys are at most {max_key_chars} characters")
        if len(value) > max_value_chars:
            raise ToolError(f"values are at most {max_value_chars} characters")
        if key not in notes and len(notes) >= max_keys:
            raise ToolError(f"the scratchpad is full ({max_keys} notes); delete one first")
        notes[key] = value
        return {"key": key, "stored": True}

    return FunctionTool(scratchpad, in_thread=False)

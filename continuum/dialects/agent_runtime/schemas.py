"""The agent-runtime stream's messages as pydantic models, for ``/openapi.json`` only."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class RuntimeUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class RuntimeAssistantMessage(BaseModel):
    """One piece of the reply; the last one has ``is_final``, the finish reason and usage."""

    type: Literal["assistant_message"]
    session_id: str
    token: str
    is_final: bool
    finish_reason: str | None = None
    usage: RuntimeUsage | None = None


class RuntimeError(BaseModel):
    """A failure: the body of an HTTP error, or the last event of a broken stream."""

    type: Literal["error"]
    content: str
    code: str
    status: int
    session_id: str | None = None

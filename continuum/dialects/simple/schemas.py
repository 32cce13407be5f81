"""The prompt API's answers as pydantic models, for ``/openapi.json`` only (the doors build
the bytes themselves, in ``answers.py`` and ``errors.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class PromptUsage(BaseModel):
    total_tokens: int
    prompt_tokens: int
    completion_tokens: int


class PromptAnswer(BaseModel):
    """``{"response", "usage"}``: a model's whole answer (seed 001)."""

    response: str
    usage: PromptUsage


class AgentAnswer(PromptAnswer):
    """An agent's answer: the prompt, the answer, the iterations that produced it."""

    prompt: str
    iterations: list[dict[str, Any]]


class PromptChunk(BaseModel):
    """One piece of a streamed answer (one WebSocket message or SSE ``data:`` event)."""

    type: Literal["chunk"]
    content: str


class PromptComplete(BaseModel):
    """The last message of a good stream: the whole answer again."""

    type: Literal["complete"]
    result: AgentAnswer | PromptAnswer


class PromptError(BaseModel):
    """The prompt API's error body (seed 001's ``{"error": "message"}``, with its code)."""

    error: str
    code: str
    param: str | None = None
    retry_after: float | None = None
    type: Literal["error"] | None = None  # in a stream only

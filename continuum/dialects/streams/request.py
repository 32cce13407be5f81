"""``POST /init-stream``: seed 002's body and answer.

Field names are the seed's (``n8nToken``, ``resumeUrl``, ``userId``, ``chatId``, and
``model``/``max_tokens``). Unknown fields are ignored, as the seed's own service did; a
field of the wrong type or size is a 400 naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_PROMPT = 1_000_000  # characters; the body limit (CONTINUUM_MAX_BODY_BYTES) applies too


class InitStreamRequest(BaseModel):
    """What a workflow engine (n8n) sends to start a stream."""

    model_config = ConfigDict(extra="ignore")

    n8nToken: str | None = Field(
        default=None, max_length=16_384, description="The JWT that admits the caller"
    )
    resumeUrl: str | None = Field(
        default=None,
        max_length=2048,
        description="Where the signed completion callback goes (none without it)",
    )
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT)
    userId: str | None = Field(default=None, max_length=256)
    chatId: str | None = Field(default=None, max_length=256)
    model: str | None = Field(default=None, min_length=1, max_length=256)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)

    @field_validator("userId", "chatId", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        # Workflow engines often hold ids as numbers; the callback echoes them as text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value


class InitStreamAnswer(BaseModel):
    """``streamUrl`` is ``<public base URL>/stream/<id>?access_token=<token>``."""

    ok: Literal[True]
    streamUrl: str


class StreamErrorData(BaseModel):
    """The data of an ``event: error``: the generation failed after it started."""

    error: dict[str, str]


class StreamResetData(BaseModel):
    """The data of an ``event: reset``: the reader's cursor cannot be honoured. The
    event's ``id`` is ``restart`` when a full replay is possible (``EventSource``
    reconnects from there by itself; a client must drop what it has shown)."""

    reason: str
    message: str
    restart: str | None = None

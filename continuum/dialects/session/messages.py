"""Seed 003's WebSocket chat-session messages.

In, one a turn::

    {"type": "user_message", "content": "привет, агент!"}

Out, one a piece of the answer, then the end of the answer::

    {"type": "assistant_message", "token": "…", "is_final": false, "id": "<epoch>-<offset>"}
    {"type": "assistant_message", "token": "", "is_final": true, "id": "<epoch>-<offset>"}

and for anything that goes wrong, after which the connection goes on serving::

    {"type": "error", "content": "Invalid JSON message", "code": "invalid_json"}

``id`` (beside seed 003's fields, which clients that do not know it ignore) is the
position of the message in the turn's buffer: a client that reconnects with it as
``last_event_id`` gets exactly what followed it (docs/sessions-ws.md). ``code`` is the
error tree's stable code, and ``retry_after`` (seconds) accompanies a rate limit.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from continuum.core.json_body import parse_json
from continuum.errors import ContinuumError, MalformedJSON
from continuum.sessions.model import Cursor

# The message seed 003 answers a frame that is not JSON with, word for word.
INVALID_JSON = "Invalid JSON message"


class UserMessage(BaseModel):
    """A turn of the conversation. ``model`` (optional, not in seed 003) picks a model
    other than the sessions' default for this turn."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["user_message"]
    content: str = Field(min_length=1)
    model: str | None = Field(default=None, min_length=1, max_length=256)


def parse_user_message(text: str | bytes) -> UserMessage:
    """The client's message; ``MalformedJSON`` ("Invalid JSON message") for a frame that
    is not JSON, ``SchemaViolation`` naming the field for one of the wrong shape."""
    try:
        return parse_json(text, UserMessage)
    except MalformedJSON:
        raise MalformedJSON(INVALID_JSON) from None


def token_message(token: str, cursor: Cursor) -> bytes:
    return orjson.dumps(
        {"type": "assistant_message", "token": token, "is_final": False, "id": str(cursor)}
    )


def final_message(cursor: Cursor) -> bytes:
    return orjson.dumps(
        {"type": "assistant_message", "token": "", "is_final": True, "id": str(cursor)}
    )


def error_message(error: ContinuumError, cursor: Cursor | None = None) -> bytes:
    """Seed 003's error message: ``content`` is the error's message. A turn that failed
    ends with one carrying the ``id`` of its last entry."""
    body: dict[str, Any] = {"type": "error", "content": error.message, "code": error.code}
    if error.retry_after is not None:
        body["retry_after"] = round(error.retry_after, 3)
    if cursor is not None:
        body["id"] = str(cursor)
    return orjson.dumps(body)

"""Core events as the agent-runtime stream's events (each one SSE ``data:`` JSON object).

Modelled on seed 003's assistant messages, one per piece of the answer::

    {"type": "assistant_message", "session_id": "s-1", "token": "12", "is_final": false}

then one final message with the finish reason and the usage of the whole reply::

    {"type": "assistant_message", "session_id": "s-1", "token": "", "is_final": true,
     "finish_reason": "stop",
     "usage": {"prompt_tokens": 109, "completion_tokens": 24, "total_tokens": 133}}

A failure ends the stream with ``{"type": "error", "session_id", "content", "code",
"status"}`` instead (and no final message), which is also the body of an HTTP error.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, Usage
from continuum.errors import ContinuumError


def error_object(error: ContinuumError, session_id: str | None = None) -> dict[str, Any]:
    """Seed 003's error message, with the error tree's code and status."""
    body: dict[str, Any] = {"type": "error", "content": error.message, "code": error.code}
    body["status"] = error.status
    if session_id is not None:
        body["session_id"] = session_id
    return body


def error_body(error: ContinuumError) -> bytes:
    return orjson.dumps(error_object(error))


class RuntimeEncoder:
    """Encodes one reply (the ``Encoder`` of ``core.relay``): text pieces as they come,
    then the final message."""

    __slots__ = ("_finish", "_head", "_session", "_usage")

    def __init__(self, session_id: str | None):
        self._session = session_id
        self._head = {"type": "assistant_message", "session_id": session_id}
        self._finish = "stop"
        self._usage: Usage | None = None

    def encode(self, event: Event) -> bytes | None:
        if isinstance(event, TextDelta):
            if event.choice or not event.text:
                return None
            return orjson.dumps({**self._head, "token": event.text, "is_final": False})
        if isinstance(event, Finish):
            if not event.choice:
                self._finish = event.reason
        elif isinstance(event, Usage):
            self._usage = event
        return None  # tool calls are not part of a reply: the runtime runs its own tools

    def error(self, error: ContinuumError) -> bytes:
        return orjson.dumps(error_object(error, self._session))

    def end(self) -> bytes:
        usage = self._usage
        final: dict[str, Any] = {**self._head, "token": "", "is_final": True}
        final["finish_reason"] = self._finish
        final["usage"] = {
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "total_tokens": usage.total_tokens if usage else 0,
        }
        return orjson.dumps(final)

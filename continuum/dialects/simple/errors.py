"""The prompt API's error body: seed 001's ``{"error": "message"}``, with the error tree's
stable ``code`` beside it and, for limits, ``retry_after`` in seconds.

    {"error": "Rate limit reached: 20 requests/minute. Try again in 2s.",
     "code": "rate_limit_exceeded", "retry_after": 2.4}

In a stream (WebSocket messages, SSE events) it also says ``"type": "error"``, so a
client that switches on every message's ``type`` (seed 001's Python example does) meets
no message without one.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.errors import ContinuumError


def error_object(error: ContinuumError) -> dict[str, Any]:
    body: dict[str, Any] = {"error": error.message, "code": error.code}
    if error.param is not None:
        body["param"] = error.param
    if error.retry_after is not None:
        body["retry_after"] = round(error.retry_after, 3)
    return body


def error_json(error: ContinuumError) -> bytes:
    return orjson.dumps(error_object(error))


def stream_error_json(error: ContinuumError) -> bytes:
    """The error as a stream's last message: the same object, with ``"type": "error"``."""
    return orjson.dumps({"type": "error", **error_object(error)})

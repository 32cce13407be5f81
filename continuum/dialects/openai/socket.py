"""Seed 000's WebSocket chat messages, in the OpenAI dialect.

A request is one JSON message: ``token`` (optional when the connection brought a key),
``model``, ``messages`` and ``settings``, which holds the chat parameters of
``POST /v1/chat/completions`` (``temperature``, ``max_tokens``, ``tools``,
``stream_options``, …). Parameters may also stand beside ``model`` at the top level;
the answer always streams, whatever ``stream`` says.

    {"token": "sk-...", "model": "local-text",
     "messages": [{"role": "user", "content": "Hi"}],
     "settings": {"temperature": 0.7, "stream_options": {"include_usage": true}}}

The answer is the SSE stream's chunk objects, one message each, without ``[DONE]``: the
chunk carrying ``finish_reason`` ends it (then the usage chunk, when asked for). A failure
is the OpenAI error object with the two things a header would have said over HTTP:

    {"error": {"message", "type", "param", "code", "status": 429, "retry_after": 2.5}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from continuum.core.json_body import validate
from continuum.dialects.openai.chunks import ChunkEncoder
from continuum.dialects.openai.errors import error_object
from continuum.dialects.openai.request import ChatCompletionRequest
from continuum.errors import ContinuumError, MalformedJSON, SchemaViolation


def socket_error_object(error: ContinuumError) -> dict[str, Any]:
    """The OpenAI error object, with the HTTP status and ``retry_after`` (seconds) in it."""
    body = error_object(error)
    inner = body["error"]
    inner["status"] = error.status
    inner["retry_after"] = None if error.retry_after is None else round(error.retry_after, 3)
    return body


def socket_error_json(error: ContinuumError) -> bytes:
    return orjson.dumps(socket_error_object(error))


class SocketChunkEncoder(ChunkEncoder):
    """The SSE door's chunk encoder, ending with no ``[DONE]`` and failing with
    ``socket_error_object``."""

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool):
        super().__init__(completion_id, created, model, include_usage, done=None)

    def error(self, error: ContinuumError) -> bytes:
        return socket_error_json(error)


@dataclass(slots=True)
class ChatMessage:
    """One decoded request message: its key, and the rest, to validate once authenticated."""

    token: str | None
    body: dict[str, Any]
    settings: dict[str, Any]

    def request(self) -> ChatCompletionRequest:
        """The chat request, validated as ``POST /v1/chat/completions`` validates its body."""
        merged = {**self.settings, **self.body, "stream": True}
        try:
            return validate(merged, ChatCompletionRequest)
        except SchemaViolation as error:
            field = (error.param or "").split(".", 1)[0]
            if field in self.settings and field not in self.body:
                param = f"settings.{error.param}"
                message = error.message.replace(f"'{error.param}'", f"'{param}'")
                raise SchemaViolation(message, param=param) from None
            raise


def decode_message(text: str | bytes) -> ChatMessage:
    """Split one message into its key and its chat request (not validated yet)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise MalformedJSON(f"The message is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise SchemaViolation("The message must be a JSON object")
    token = data.pop("token", None)
    if token is not None and not isinstance(token, str):
        raise SchemaViolation("'token' must be a string", param="token")
    settings = data.pop("settings", None)
    if settings is None:
        settings = {}
    elif not isinstance(settings, dict):
        raise SchemaViolation("'settings' must be an object of chat parameters", param="settings")
    return ChatMessage(token or None, data, settings)

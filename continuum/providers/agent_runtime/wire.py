"""The request to an agent runtime, and the message of its error bodies.

The protocol is Continuum's ``POST /agent/message/stream`` (docs/agents.md, "Agent
runtime"; the server side is ``continuum/dialects/agent_runtime``): the conversation as
OpenAI chat messages, the model (or agent) to answer with, and the end user.
"""

from __future__ import annotations

from typing import Any

from continuum.core.types import ChatRequest
from continuum.providers.openai.wire import message

PATH = "/agent/message/stream"


def message_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The body for ``model`` (``agent/<name>`` or any model id the runtime serves).

    The request id names the session, so both sides' logs can be matched; sampling
    parameters and tools are not part of the protocol (an agent runs its own tools).
    """
    body: dict[str, Any] = {
        "session_id": request.request_id or None,
        "model": model,
        "messages": [message(m) for m in request.messages],
    }
    if request.user:
        body["user_id"] = request.user
    return body


def error_message(body: Any) -> str | None:
    """``content`` of the runtime's error object; the OpenAI and FastAPI shapes as well."""
    if not isinstance(body, dict):
        return None
    for key in ("content", "detail", "message"):
        if isinstance(body.get(key), str):
            return str(body[key])
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return error if isinstance(error, str) else None

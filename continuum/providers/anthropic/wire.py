"""Request encoding: the neutral chat request as an Anthropic Messages API body.

Shapes from https://docs.anthropic.com/en/api/messages and the tool-use guide
(https://docs.anthropic.com/en/docs/build-with-claude/tool-use): system prompts are the
top-level ``system``; roles alternate user/assistant, so consecutive messages of one role
are merged; an assistant's tool calls are ``tool_use`` blocks with parsed ``input``; tool
results are ``tool_result`` blocks in a user message; ``max_tokens`` is required.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from continuum.core.types import ChatRequest, ContentPart, Message

DEFAULT_MAX_TOKENS = 4096
API_VERSION = "2023-06-01"


def _image(part: ContentPart) -> dict[str, Any] | None:
    url = ((part.raw or {}).get("image_url") or {}).get("url", "")
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("data:") and ";base64," in url:
        media, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(msg: Message) -> list[dict[str, Any]]:
    if msg.role == "tool":
        result = {"type": "tool_result", "tool_use_id": msg.tool_call_id or "", "content": msg.text}
        return [result]
    blocks: list[dict[str, Any]] = []
    if isinstance(msg.content, tuple):
        for part in msg.content:
            block = (
                {"type": "text", "text": part.text or ""} if part.type == "text" else _image(part)
            )
            if block is not None:
                blocks.append(block)
    elif msg.content:
        blocks.append({"type": "text", "text": msg.content})
    for call in msg.tool_calls:
        try:
            arguments = orjson.loads(call.arguments) if call.arguments else {}
        except orjson.JSONDecodeError:
            arguments = {}
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def _tool_choice(choice: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if choice is None or choice == "auto":
        return None
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, Mapping):
        return {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    return None


def chat_body(request: ChatRequest, model: str, max_tokens: int | None) -> dict[str, Any]:
    system = "\n\n".join(m.text for m in request.messages if m.role in ("system", "developer"))
    messages: list[dict[str, Any]] = []
    for msg in request.messages:
        if msg.role in ("system", "developer"):
            continue
        role = "assistant" if msg.role == "assistant" else "user"
        blocks = _blocks(msg)
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)  # roles must alternate
        else:
            messages.append({"role": role, "content": blocks})
    params = request.params
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": params.max_tokens or max_tokens or DEFAULT_MAX_TOKENS,
        "stream": True,
    }
    optional: dict[str, Any] = {
        "system": system or None,
        "temperature": min(params.temperature, 1.0) if params.temperature is not None else None,
        "top_p": params.top_p,
        "top_k": params.top_k,
        "stop_sequences": list(params.stop) or None,
        "tool_choice": _tool_choice(request.tool_choice) if request.tools else None,
        "metadata": {"user_id": request.user} if request.user else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if request.tools:
        body["tools"] = [
            {
                "name": t.name,
                **({"description": t.description} if t.description else {}),
                "input_schema": dict(t.parameters or {"type": "object", "properties": {}}),
            }
            for t in request.tools
        ]
    return body


def error_message(body: Any) -> str | None:
    """``{"type": "error", "error": {"type": ..., "message": ...}}``."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or "") or None
    return None

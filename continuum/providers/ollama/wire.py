"""Request encoding for Ollama's native chat API.

Shapes from https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion:
sampling parameters go in ``options`` (``num_predict`` is max tokens), images are base64
strings in ``images``, tool-call ``arguments`` are JSON objects (not strings), and
``format`` is ``"json"`` or a JSON Schema.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.types import ChatRequest, Message


def _images(msg: Message) -> list[str]:
    if not isinstance(msg.content, tuple):
        return []
    images = []
    for part in msg.content:
        url = ((part.raw or {}).get("image_url") or {}).get("url", "")
        if isinstance(url, str) and url.startswith("data:") and "," in url:
            images.append(url.split(",", 1)[1])  # Ollama takes the bare base64
    return images


def _arguments(text: str) -> Any:
    try:
        return orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return {}


def message(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role, "content": msg.text}
    images = _images(msg)
    if images:
        out["images"] = images
    if msg.tool_calls:
        out["tool_calls"] = [
            {"function": {"name": c.name, "arguments": _arguments(c.arguments)}}
            for c in msg.tool_calls
        ]
    return out


def _format(response_format: Any) -> Any:
    kind = response_format.get("type") if response_format else None
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or "json"
    return None


def chat_body(request: ChatRequest, model: str) -> dict[str, Any]:
    params = request.params
    options = {
        "num_predict": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k,
        "seed": params.seed,
        "stop": list(params.stop) or None,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
    }
    body: dict[str, Any] = {
        "model": model,
        "messages": [message(m) for m in request.messages],
        "stream": True,
    }
    if any(v is not None for v in options.values()):
        body["options"] = {k: v for k, v in options.items() if v is not None}
    fmt = _format(request.response_format)
    if fmt is not None:
        body["format"] = fmt
    if request.tools and request.tool_choice != "none":
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": dict(t.parameters or {"type": "object", "properties": {}}),
                },
            }
            for t in request.tools
        ]
    return body


def error_message(body: Any) -> str | None:
    """Ollama's error body is ``{"error": "..."}``."""
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return None

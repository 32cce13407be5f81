"""Request encoding for OpenAI's Chat Completions API.

Shapes from the OpenAI API reference, "Create chat completion"
(https://platform.openai.com/docs/api-reference/chat/create; the OpenAPI spec in
/work/shared/openai-openapi/openapi.yaml, CreateChatCompletionRequest).
"""

from __future__ import annotations

from typing import Any

from continuum.core.types import ChatRequest, ContentPart, Message


def _part(part: ContentPart) -> dict[str, Any]:
    if part.raw is not None:
        return dict(part.raw)  # image_url, input_audio, file: passed through as sent
    return {"type": "text", "text": part.text or ""}


def message(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": msg.role}
    if isinstance(msg.content, tuple):
        out["content"] = [_part(p) for p in msg.content]
    else:
        out["content"] = msg.content
    if msg.name is not None:
        out["name"] = msg.name
    if msg.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in msg.tool_calls
        ]
    if msg.tool_call_id is not None:
        out["tool_call_id"] = msg.tool_call_id
    return out


def chat_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The upstream body: streamed with usage, or one whole answer when the client folds it."""
    params = request.params
    body: dict[str, Any] = {
        **request.extra,
        "model": model,
        "messages": [message(m) for m in request.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    optional: dict[str, Any] = {
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "seed": params.seed,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
        "stop": list(params.stop) or None,
        "n": params.n if params.n != 1 else None,
        "tool_choice": request.tool_choice,
        "response_format": dict(request.response_format) if request.response_format else None,
        "user": request.user,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if not request.stream:
        body["stream"] = False
        del body["stream_options"]
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    **({"description": t.description} if t.description else {}),
                    "parameters": dict(t.parameters or {"type": "object", "properties": {}}),
                },
            }
            for t in request.tools
        ]
    return body


def error_message(body: Any) -> str | None:
    """``{"error": {"message": ...}}``, the OpenAI error object (and most compatibles)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or "") or None
        if isinstance(error, str):
            return error
    return None

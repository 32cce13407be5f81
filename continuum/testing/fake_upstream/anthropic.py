"""The Anthropic flavour: ``POST /v1/messages`` (SSE events or one JSON message).

Shapes from Anthropic's API reference: "Messages" (https://docs.anthropic.com/en/api/messages),
"Streaming Messages" (https://docs.anthropic.com/en/docs/build-with-claude/streaming:
message_start, content_block_start/delta/stop with text_delta and input_json_delta,
message_delta with stop_reason and usage, message_stop, ping) and "Errors"
(https://docs.anthropic.com/en/api/errors: ``{"type": "error", "error": {type, message}}``,
529 overloaded_error). Requests need ``x-api-key`` and ``anthropic-version``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from continuum.testing.fake_upstream.answers import Answer, Conversation, answer
from continuum.testing.fake_upstream.faults import Fault, split_model
from continuum.testing.fake_upstream.http import Reply
from continuum.testing.fake_upstream.record import SeenRequest
from continuum.testing.fake_upstream.server import FakeUpstream, Flavor, Route

_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b.get("text") or "" for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def _tool_result(message: Mapping[str, Any]) -> str | None:
    content = message.get("content")
    if message.get("role") != "user" or not isinstance(content, list):
        return None
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            return _text(block.get("content"))
    return None


def conversation(body: Mapping[str, Any]) -> Conversation:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user" and _tool_result(m) is None]
    choice = body.get("tool_choice") or {}
    kind = choice.get("type") if isinstance(choice, dict) else None
    tool_choice = {"any": "required", "none": "none", "tool": choice.get("name")}.get(kind or "")
    return Conversation(
        prompt_text=" ".join(
            [_text(body.get("system")), *(_text(m.get("content")) for m in messages)]
        ),
        last_user=_text(users[-1].get("content")) if users else "",
        tool_result=_tool_result(messages[-1]) if messages else None,
        tools=[(t["name"], t.get("input_schema") or {}) for t in body.get("tools") or []],
        tool_choice=tool_choice,
        max_tokens=body.get("max_tokens"),
    )


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return (
        b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **payload}) + b"\n\n"
    )


def _message(model: str, result: Answer, content: list[Any], stop: str | None) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": result.prompt_tokens,
            "output_tokens": 1 if stop is None else result.completion_tokens,
        },
    }


def _frames(model: str, result: Answer) -> list[bytes]:
    frames = [_event("message_start", {"message": _message(model, result, [], None)})]
    index = 0
    if result.pieces:
        frames.append(
            _event(
                "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
            )
        )
        frames.append(_event("ping", {}))
        frames += [
            _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}})
            for p in result.pieces
        ]
        frames.append(_event("content_block_stop", {"index": 0}))
        index = 1
    for number, call in enumerate(result.calls):
        block = {"type": "tool_use", "id": f"toolu_fake{number}", "name": call.name, "input": {}}
        frames.append(_event("content_block_start", {"index": index, "content_block": block}))
        frames += [
            _event(
                "content_block_delta",
                {"index": index, "delta": {"type": "input_json_delta", "partial_json": part}},
            )
            for part in call.pieces
        ]
        frames.append(_event("content_block_stop", {"index": index}))
        index += 1
    delta = {"stop_reason": _STOP[result.finish], "stop_sequence": None}
    frames.append(
        _event(
            "message_delta", {"delta": delta, "usage": {"output_tokens": result.completion_tokens}}
        )
    )
    return frames


def messages(fake: FakeUpstream, request: SeenRequest, fault: Fault) -> Reply:
    if "anthropic-version" not in request.headers:
        return ANTHROPIC.error(400, "anthropic-version: header is required")
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return ANTHROPIC.error(400, "messages: Field required")
    if not isinstance(body.get("max_tokens"), int):
        return ANTHROPIC.error(400, "max_tokens: Field required")
    model, _ = split_model(str(body.get("model", "")))
    result = answer(conversation(body), fault.chunks, fake.next_turn())
    if body.get("stream"):
        return Reply(
            content_type="text/event-stream",
            frames=_frames(model, result),
            tail=_event("message_stop", {}),
            malformed=b"event: content_block_delta\ndata: {not json\n\n",
            wrong_shape=b'event: content_block_delta\ndata: {"type":"content_block_delta",'
            b'"index":0,"delta":"x"}\n\n',
        )
    content: list[Any] = [{"type": "text", "text": result.text}] if result.pieces else []
    for number, call in enumerate(result.calls):
        block = {"type": "tool_use", "id": f"toolu_fake{number}", "name": call.name}
        content.append({**block, "input": orjson.loads(call.arguments)})
    return Reply.json(_message(model, result, content, _STOP[result.finish]))


class AnthropicFlavor(Flavor):
    name = "anthropic"
    routes: Mapping[tuple[str, str], Route] = {("POST", "/v1/messages"): messages}

    def authorized(self, request: SeenRequest, key: str) -> bool:
        # x-api-key is the documented header; recent official SDKs send a bearer token.
        headers = request.headers
        return headers.get("x-api-key") == key or headers.get("authorization") == f"Bearer {key}"

    def error(self, status: int, message: str) -> Reply:
        kind = _ERRORS.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return Reply.json(body, status=status)


ANTHROPIC = AnthropicFlavor()


def fake_anthropic(**options: Any) -> FakeUpstream:
    """A fake Anthropic Messages API server (see ``FakeUpstream`` for the options)."""
    return FakeUpstream(ANTHROPIC, **options)

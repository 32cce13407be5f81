"""The OpenAI flavour: ``/v1/chat/completions`` (SSE and JSON), ``/v1/models``, ``/v1/embeddings``.

Wire shapes follow the OpenAI API reference
(https://platform.openai.com/docs/api-reference/chat/streaming and
/work/shared/openai-openapi/openapi.yaml: CreateChatCompletionStreamResponse,
CreateChatCompletionResponse, CreateEmbeddingResponse, ListModelsResponse, Error).
"""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Mapping
from typing import Any

import orjson

from continuum.testing.fake_upstream.answers import Answer, Conversation, answer, embedding
from continuum.testing.fake_upstream.faults import Fault, split_model
from continuum.testing.fake_upstream.http import Reply
from continuum.testing.fake_upstream.record import SeenRequest
from continuum.testing.fake_upstream.server import FakeUpstream, Flavor, Route

_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # A part's text may be null (valid in the schema for non-text parts): no text.
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""


def conversation(body: Mapping[str, Any]) -> Conversation:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    last = messages[-1] if messages else {}
    tools = [
        (t["function"]["name"], t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        choice = (choice.get("function") or {}).get("name")
    elif choice == "auto":
        choice = None
    return Conversation(
        prompt_text=" ".join(_text(m.get("content")) for m in messages),
        last_user=_text(users[-1].get("content")) if users else "",
        tool_result=_text(last.get("content")) if last.get("role") == "tool" else None,
        tools=tools,
        tool_choice=choice,
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
    )


def _usage(result: Answer) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def _frames(result: Answer, model: str, include_usage: bool) -> list[bytes]:
    base: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
    }
    if include_usage:
        base["usage"] = None

    def frame(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"

    frames = [frame({"role": "assistant", "content": ""})]
    frames += [frame({"content": piece}) for piece in result.pieces]
    for index, call in enumerate(result.calls):
        head = {"index": index, "id": f"call_fake{index}", "type": "function"}
        function = {"name": call.name, "arguments": ""}
        frames.append(frame({"tool_calls": [{**head, "function": function}]}))
        frames += [
            frame({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
            for part in call.pieces
        ]
    frames.append(frame({}, result.finish))
    if include_usage:
        final = {**base, "choices": [], "usage": _usage(result)}
        frames.append(b"data: " + orjson.dumps(final) + b"\n\n")
    return frames


def chat(fake: FakeUpstream, request: SeenRequest, fault: Fault) -> Reply:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return OPENAI.error(400, "'messages' is required")
    model, _ = split_model(str(body.get("model", "")))
    result = answer(conversation(body), fault.chunks, fake.next_turn())
    if body.get("stream"):
        include = bool((body.get("stream_options") or {}).get("include_usage"))
        return Reply(
            content_type="text/event-stream",
            frames=_frames(result, model, include),
            tail=b"data: [DONE]\n\n",
        )
    message: dict[str, Any] = {"role": "assistant", "content": result.text or None, "refusal": None}
    if result.calls:
        message["tool_calls"] = [
            {
                "id": f"call_fake{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for index, call in enumerate(result.calls)
        ]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": result.finish}
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": _usage(result),
    }
    return Reply.json(payload)


def models(fake: FakeUpstream, request: SeenRequest, fault: Fault) -> Reply:
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
    return Reply.json({"object": "list", "data": data})


def _embedding_texts(raw: Any) -> list[str] | None:
    """The inputs as texts: strings as they are, token arrays as their ids spelled out
    (the fake has no tokenizer), or None when ``input`` is none of OpenAI's four forms."""
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list) or not raw:
        return None
    if all(isinstance(t, str) for t in raw):
        return raw
    if all(isinstance(t, int) and not isinstance(t, bool) for t in raw):
        raw = [raw]
    if all(isinstance(ids, list) and ids and all(type(t) is int for t in ids) for ids in raw):
        return [" ".join(f"#{t}" for t in ids) for ids in raw]
    return None


def embeddings(fake: FakeUpstream, request: SeenRequest, fault: Fault) -> Reply:
    """Texts or token arrays; ``dimensions``; ``encoding_format`` float or base64, as OpenAI."""
    body = request.json()
    texts = _embedding_texts(body.get("input") if isinstance(body, dict) else None)
    if texts is None:
        return OPENAI.error(
            400, "'input' must be a string, a list of strings, or token arrays (lists of ints)"
        )
    dims = int(body.get("dimensions") or 8)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        return OPENAI.error(400, "'encoding_format' must be 'float' or 'base64'")
    vectors = [embedding(t, dims) for t in texts]
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": _base64(vector) if encoding == "base64" else vector,
        }
        for i, vector in enumerate(vectors)
    ]
    tokens = sum(max(1, len(t.split())) for t in texts)
    model, _ = split_model(str(body.get("model", "")))
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return Reply.json({"object": "list", "data": data, "model": model, "usage": usage})


def _base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


class OpenAIFlavor(Flavor):
    name = "openai"
    routes: Mapping[tuple[str, str], Route] = {
        ("POST", "/v1/chat/completions"): chat,
        ("GET", "/v1/models"): models,
        ("POST", "/v1/embeddings"): embeddings,
    }

    def authorized(self, request: SeenRequest, key: str) -> bool:
        return request.headers.get("authorization") == f"Bearer {key}"

    def error(self, status: int, message: str) -> Reply:
        kind, code = _ERROR_TYPES.get(status, ("server_error", "server_error"))
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        headers = (("retry-after", "1"),) if status == 429 else ()
        return Reply.json(body, status=status, headers=headers)


OPENAI = OpenAIFlavor()


def fake_openai(**options: Any) -> FakeUpstream:
    """A fake OpenAI-compatible server (see ``FakeUpstream`` for the options)."""
    return FakeUpstream(OPENAI, **options)

"""The Ollama flavour: ``/api/chat`` (NDJSON stream or one JSON), ``/api/tags``, ``/api/embed``.

Shapes from Ollama's API reference, https://github.com/ollama/ollama/blob/main/docs/api.md
("Generate a chat completion", "List Local Models", "Generate Embeddings"): each streamed
line is ``{"model", "created_at", "message": {"role", "content"}, "done": false}``, the
last ``"done": true`` with ``done_reason`` and the ``prompt_eval_count``/``eval_count``
counts; tool calls carry ``arguments`` as an object; errors are ``{"error": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from continuum.testing.fake_upstream.answers import Answer, Conversation, answer, embedding
from continuum.testing.fake_upstream.faults import Fault, split_model
from continuum.testing.fake_upstream.http import Reply
from continuum.testing.fake_upstream.record import SeenRequest
from continuum.testing.fake_upstream.server import FakeUpstream, Flavor, Route

CREATED = "2024-01-01T00:00:00.000000Z"


def conversation(body: Mapping[str, Any]) -> Conversation:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    last = messages[-1] if messages else {}
    tools = [
        (t["function"]["name"], t["function"].get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    options = body.get("options") or {}
    return Conversation(
        prompt_text=" ".join(str(m.get("content") or "") for m in messages),
        last_user=str(users[-1].get("content") or "") if users else "",
        tool_result=str(last.get("content")) if last.get("role") == "tool" else None,
        tools=tools,
        # Ollama has no tool_choice: a model calls a tool when the prompt asks for one.
        tool_choice=None,
        max_tokens=options.get("num_predict"),
    )


def _line(model: str, content: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if "tool_calls" in extra:
        message["tool_calls"] = extra.pop("tool_calls")
    return {"model": model, "created_at": CREATED, "message": message, **extra}


def _final(model: str, result: Answer) -> dict[str, Any]:
    return {
        "done": True,
        "done_reason": "length" if result.finish == "length" else "stop",
        "total_duration": 1000,
        "load_duration": 10,
        "prompt_eval_count": result.prompt_tokens,
        "prompt_eval_duration": 100,
        "eval_count": result.completion_tokens,
        "eval_duration": 800,
    }


def _calls(result: Answer) -> list[dict[str, Any]]:
    return [
        {"function": {"name": call.name, "arguments": orjson.loads(call.arguments)}}
        for call in result.calls
    ]


def chat(fake: FakeUpstream, request: SeenRequest, fault: Fault) -> Reply:
    body = request.json()
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return OLLAMA.error(400, "messages is required")
    model, _ = split_model(str(body.get("model", "")))
    result = answer(conversation(body), fault.chunks, fake.next_turn())
    if body.get("stream", True):
        lines = [_line(model, piece, done=False) for piece in result.pieces]
        if result.calls:
            lines.append(_line(model, "", tool_calls=_calls(result), done=False))
        return Reply(
            content_type="application/x-ndjson",
            frames=[orjson.dumps(line) + b"\n" for line in lines],
            tail=orjson.dumps(_line(model, "", **_final(model, result))) + b"\n",
            malformed=b"{not json\n",
            wrong_shape=b'{"message":"x","done":false}\n',
        )
    extra = {"tool_calls": _calls(result)} if result.calls else {}
    return Reply.json(_line(model, result.text, **extra, **_final(model, result)))


def tags(fake: FakeUpstream, request: SeenRequest, fault: Fault) -> Reply:
    models = [
        {
            "name": m,
            "model": m,
            "modified_at": CREATED,
            "size": 1,
            "digest": "0" * 64,
            "details": {"format": "gguf", "family": "fake", "parameter_size": "1B"},
        }
        for m in fake.models
    ]
    return Reply.json({"models": models})


def embed(fake: FakeUpstream, request: SeenRequest, fault: Fault) -> Reply:
    body = request.json()
    texts = body.get("input") if isinstance(body, dict) else None
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return OLLAMA.error(400, "input must be a string or a list of strings")
    model, _ = split_model(str(body.get("model", "")))
    count = sum(max(1, len(t.split())) for t in texts)
    return Reply.json(
        {
            "model": model,
            "embeddings": [embedding(t) for t in texts],
            "total_duration": 1000,
            "load_duration": 10,
            "prompt_eval_count": count,
        }
    )


class OllamaFlavor(Flavor):
    name = "ollama"
    routes: Mapping[tuple[str, str], Route] = {
        ("POST", "/api/chat"): chat,
        ("GET", "/api/tags"): tags,
        ("POST", "/api/embed"): embed,
    }

    def authorized(self, request: SeenRequest, key: str) -> bool:
        # Ollama has no keys; a proxy in front of it usually checks a bearer token.
        return request.headers.get("authorization") == f"Bearer {key}"

    def error(self, status: int, message: str) -> Reply:
        return Reply.json({"error": message}, status=status)


OLLAMA = OllamaFlavor()


def fake_ollama(**options: Any) -> FakeUpstream:
    """A fake Ollama server (see ``FakeUpstream`` for the options)."""
    return FakeUpstream(OLLAMA, **options)

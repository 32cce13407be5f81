"""Core events and completions as OpenAI chat objects (the only place their shape is known).

The encoder makes bare ``chat.completion.chunk`` JSON: the SSE door frames it as
``data:`` lines and ends a good stream with ``[DONE]``; the WebSocket door sends each
chunk as one message.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.routes import ModelRoute
from continuum.core.stream import Completion
from continuum.dialects.openai.errors import error_json
from continuum.errors import ContinuumError

DONE = b"[DONE]"


def usage_object(usage: Usage | None) -> dict[str, int]:
    if usage is None:
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def model_object(route: ModelRoute) -> dict[str, Any]:
    return {"id": route.id, "object": "model", "created": route.created, "owned_by": route.owned_by}


def completion_body(completion: Completion, completion_id: str, created: int, model: str) -> bytes:
    choices = []
    for choice in completion.choices:
        message: dict[str, Any] = {"role": "assistant", "content": choice.text, "refusal": None}
        calls = choice.tool_calls
        if calls:
            message["content"] = choice.text or None
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in calls
            ]
        choices.append(
            {
                "index": choice.index,
                "message": message,
                "logprobs": None,
                "finish_reason": choice.finish_reason or "stop",
            }
        )
    return orjson.dumps(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage_object(completion.usage),
        }
    )


class ChunkEncoder:
    """Encodes one stream's events as ``chat.completion.chunk`` objects (JSON bytes).

    Text deltas, nearly every event of a stream, are spliced into bytes prepared once
    per stream: no dict is built and only the text itself goes through orjson. ``done``
    is the frame that ends a good stream (``[DONE]`` over SSE; none over WebSocket).
    """

    def __init__(
        self,
        completion_id: str,
        created: int,
        model: str,
        include_usage: bool,
        done: bytes | None = DONE,
    ):
        self._head = orjson.dumps(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
            }
        )[:-1]
        self._include_usage = include_usage
        self._done = done
        self._tail = b',"usage":null}' if include_usage else b"}"
        self._started: set[int] = set()
        self._text_prefix: dict[int, bytes] = {}

    def _chunk(self, choice: dict[str, Any]) -> bytes:
        return self._head + b',"choices":[' + orjson.dumps(choice) + b"]" + self._tail

    def _delta(self, choice: int, delta: dict[str, Any]) -> bytes:
        if choice not in self._started:
            self._started.add(choice)
            delta = {"role": "assistant", **delta}
        return self._chunk(
            {"index": choice, "delta": delta, "logprobs": None, "finish_reason": None}
        )

    def _text(self, event: TextDelta) -> bytes:
        prefix = self._text_prefix.get(event.choice)
        if prefix is None:
            if event.choice not in self._started:
                return self._delta(event.choice, {"content": event.text})
            prefix = self._text_prefix[event.choice] = (
                self._head + b',"choices":[{"index":%d,"delta":{"content":' % event.choice
            )
        return (
            prefix
            + orjson.dumps(event.text)
            + b'},"logprobs":null,"finish_reason":null}]'
            + self._tail
        )

    def encode(self, event: Event) -> bytes | None:
        if isinstance(event, TextDelta):
            return self._text(event)
        if isinstance(event, ToolCallDelta):
            call: dict[str, Any] = {
                "index": event.index,
                "function": {"arguments": event.arguments},
            }
            if event.id is not None:
                call["id"] = event.id
                call["type"] = "function"
            if event.name is not None:
                call["function"]["name"] = event.name
            return self._delta(event.choice, {"tool_calls": [call]})
        if isinstance(event, Finish):
            return self._chunk(
                {
                    "index": event.choice,
                    "delta": {},
                    "logprobs": None,
                    "finish_reason": event.reason,
                }
            )
        if isinstance(event, Usage):
            if not self._include_usage:
                return None
            return self._head + b',"choices":[],"usage":' + orjson.dumps(usage_object(event)) + b"}"
        return None

    def error(self, error: ContinuumError) -> bytes:
        return error_json(error)

    def end(self) -> bytes | None:
        return self._done

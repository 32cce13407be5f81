"""Stream decoding: OpenAI ``chat.completion.chunk`` objects to neutral events.

Chunk shape from the OpenAI API reference, "The chat completion chunk object"
(https://platform.openai.com/docs/api-reference/chat/streaming). The stream ends with
``data: [DONE]``; with ``stream_options.include_usage`` the last chunk before it has
``choices: []`` and ``usage``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.errors import ContinuumError, UpstreamError
from continuum.providers.codecs.shape import WRONG_SHAPE, text
from continuum.providers.codecs.sse import SSEDecoder

DONE = "[DONE]"


def chunk_events(chunk: Any) -> Iterator[Event]:
    """The events of one decoded chunk; raises ``UpstreamError`` for an in-stream error."""
    if not isinstance(chunk, dict):
        raise UpstreamError("openai upstream sent a chunk that is not an object")
    if chunk.get("error"):
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise UpstreamError(f"openai upstream failed mid-stream: {message}")
    for choice in chunk.get("choices") or ():
        index = int(choice.get("index") or 0)
        delta = choice.get("delta") or {}
        if delta.get("content"):
            yield TextDelta(text(delta["content"]), index)
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            yield ToolCallDelta(
                index=int(call.get("index") or 0),
                arguments=text(function.get("arguments")) or "",
                id=text(call.get("id")),
                name=text(function.get("name")),
                choice=index,
            )
        if choice.get("finish_reason"):
            yield Finish(text(choice["finish_reason"]), index)
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        yield Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


class ChunkDecoder:
    """Sans-IO: upstream bytes in, events out.

    ``done`` is set by ``data: [DONE]``. A malformed or error chunk sets ``failure``;
    the events decoded before it in the same piece are still returned.
    """

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self.done = False
        self.failure: ContinuumError | None = None

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self.failure is not None:
            return events
        try:
            for sse in self._sse.feed(data):
                if sse.data == DONE:
                    self.done = True
                    break
                try:
                    chunk = orjson.loads(sse.data)
                except orjson.JSONDecodeError:
                    raise UpstreamError("openai upstream sent a malformed chunk") from None
                try:
                    events.extend(chunk_events(chunk))
                except WRONG_SHAPE:
                    raise UpstreamError("openai upstream sent a chunk of the wrong shape") from None
        except ValueError as error:  # an over-long line
            self.failure = UpstreamError(f"openai upstream sent a malformed stream: {error}")
        except ContinuumError as error:
            self.failure = error
        return events


def completion_events(payload: Any) -> list[Event]:
    """The events of a whole ``chat.completion`` object (a non-streamed answer).

    Shape from the OpenAI API reference, "The chat completion object"
    (https://platform.openai.com/docs/api-reference/chat/object).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
        raise UpstreamError("openai upstream sent an answer that is not a chat completion")
    try:
        return _completion_events(payload)
    except WRONG_SHAPE:
        raise UpstreamError("openai upstream sent an answer of the wrong shape") from None


def _completion_events(payload: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    for choice in payload["choices"]:
        index = int(choice.get("index") or 0)
        message = choice.get("message") or {}
        if message.get("content"):
            events.append(TextDelta(text(message["content"]), index))
        for number, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function") or {}
            events.append(
                ToolCallDelta(
                    number,
                    text(function.get("arguments")) or "",
                    text(call.get("id")),
                    text(function.get("name")),
                    index,
                )
            )
        events.append(Finish(text(choice.get("finish_reason")) or "stop", index))
    usage = payload.get("usage")
    if isinstance(usage, dict):
        events.append(
            Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        )
    return events

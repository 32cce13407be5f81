"""Reading an Anthropic Messages stream off the wire and checking it against Anthropic's types.

Every event is validated with the ``anthropic`` package's own pydantic models
(``RawMessageStreamEvent``, ``Message``, ``ErrorResponse``), its ``event:`` line must name
its ``type``, and the sequence must follow the grammar of Anthropic's streaming docs.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse
from pydantic import TypeAdapter

EVENT = TypeAdapter(RawMessageStreamEvent)
# message_start, ping, then blocks (start, deltas, stop), then message_delta + message_stop.
GRAMMAR = re.compile(
    r"message_start ping (content_block_start (content_block_delta )*content_block_stop )*"
    r"message_delta message_stop"
)
CUT = re.compile(
    r"message_start ping (content_block_start (content_block_delta )*(content_block_stop )?)*error"
)


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, payload) of every frame; each frame has one ``event:`` and one ``data:``."""
    events = []
    for frame in text.split("\n\n"):
        if not frame.strip():
            continue
        lines = frame.split("\n")
        assert len(lines) == 2, frame
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), frame
        events.append((lines[0].removeprefix("event: "), orjson.loads(lines[1][6:])))
    return events


def check_events(events: list[tuple[str, dict[str, Any]]], complete: bool = True) -> None:
    """Types, names, grammar and block indices of one stream (``complete``: not cut)."""
    names = " ".join(name for name, _ in events)
    assert (GRAMMAR if complete else CUT).fullmatch(names), names
    open_block: int | None = None
    started = 0
    for name, payload in events:
        assert payload["type"] == name
        if name == "ping":
            continue
        if name == "error":
            ErrorResponse.model_validate(payload)
            continue
        EVENT.validate_python(payload)
        if name == "message_start":
            Message.model_validate(payload["message"])
        elif name == "content_block_start":
            assert payload["index"] == started and open_block is None
            open_block, started = started, started + 1
        elif name == "content_block_delta":
            assert payload["index"] == open_block
        elif name == "content_block_stop":
            assert payload["index"] == open_block
            open_block = None


def fold(events: list[tuple[str, dict[str, Any]]]) -> Message:
    """The message a complete stream describes, as Anthropic's SDK would accumulate it."""
    message = dict(events[0][1]["message"])
    blocks: list[dict[str, Any]] = []
    partial: dict[int, str] = {}
    for name, payload in events[1:]:
        if name == "content_block_start":
            blocks.append(dict(payload["content_block"]))
        elif name == "content_block_delta":
            delta = payload["delta"]
            if delta["type"] == "text_delta":
                blocks[payload["index"]]["text"] += delta["text"]
            else:
                partial[payload["index"]] = (
                    partial.get(payload["index"], "") + delta["partial_json"]
                )
        elif name == "message_delta":
            message.update(payload["delta"])
            message["usage"] = {**message["usage"], **payload["usage"]}
    for index, text in partial.items():
        blocks[index]["input"] = orjson.loads(text)
    message["content"] = blocks
    return Message.model_validate(message)

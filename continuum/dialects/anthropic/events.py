"""Core events as Anthropic's Messages stream: whole SSE frames, ``event:`` lines included.

The sequence (https://docs.anthropic.com/en/docs/build-with-claude/streaming):

    message_start            the message, empty, with usage.input_tokens
    ping
    content_block_start      a text block, or a tool_use block with id and name
    content_block_delta      text_delta / input_json_delta, many
    content_block_stop
    ...                      one block after another, indexed 0, 1, ...
    message_delta            stop_reason, stop_sequence, usage.output_tokens
    message_stop

A failure after the first event ends the stream with an ``error`` event instead of
``message_delta``/``message_stop``, so a cut answer never looks complete.
``input_tokens`` in ``message_start`` is the count known before the answer (the
provider's tokenizer, else the estimate); ``message_delta`` repeats the provider's own
count, which the SDKs take as final.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.dialects.anthropic.errors import error_json
from continuum.errors import ContinuumError

# The core's finish reasons as Anthropic's stop reasons ("stop" is end_turn or, when a
# stop sequence ended it, stop_sequence).
STOP_REASONS = {"length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
PING = b'event: ping\ndata: {"type":"ping"}\n\n'
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def stop_reason(reason: str | None, stop_sequence: str | None) -> str:
    if reason == "stop" or reason is None:
        return "stop_sequence" if stop_sequence is not None else "end_turn"
    return STOP_REASONS.get(reason, "end_turn")


def frame(kind: str, payload: dict[str, Any]) -> bytes:
    """One SSE event: ``event: <kind>`` and the JSON payload, whose ``type`` is ``kind``."""
    return (
        b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **payload}) + b"\n\n"
    )


def message_shell(message_id: str, model: str, input_tokens: int) -> dict[str, Any]:
    """The message as ``message_start`` announces it: no content and no stop reason yet."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


class StreamEncoder:
    """Encodes one answer's events as Anthropic SSE frames (the relay's ``Encoder``).

    Blocks are opened as the answer needs them: text deltas go to an open text block
    (one is opened after a tool block), each new tool call opens a ``tool_use`` block.
    Text deltas, nearly every event, are spliced into bytes prepared once per block.
    Only the first choice is encoded: this API has no ``n``.
    """

    __slots__ = (
        "_calls",
        "_next",
        "_open",
        "_request_id",
        "_start",
        "_stop",
        "_stop_sequence",
        "_text_prefix",
        "_usage",
    )

    def __init__(self, message_id: str, model: str, input_tokens: int):
        self._start: bytes | None = (
            frame("message_start", {"message": message_shell(message_id, model, input_tokens)})
            + PING
        )
        self._request_id = message_id
        self._next = 0  # index of the next block
        self._open: int | None = None  # index of the open block
        self._text_prefix: bytes | None = None  # set while the open block is text
        self._calls: dict[int, int] = {}  # tool call index -> its block's index
        self._stop: str | None = None
        self._stop_sequence: str | None = None
        self._usage: Usage | None = None

    def _begin(self, block: dict[str, Any]) -> bytes:
        """Close the open block and open ``block``."""
        out = self._close()
        index = self._open = self._next
        self._next += 1
        return out + frame("content_block_start", {"index": index, "content_block": block})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open, self._text_prefix = self._open, None, None
        return b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n' % (
            index
        )

    def _open_text(self, text: str) -> bytes:
        out = self._begin({"type": "text", "text": ""})
        prefix = self._text_prefix = (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
            b'"delta":{"type":"text_delta","text":' % (self._next - 1)
        )
        return out + prefix + orjson.dumps(text) + b"}}\n\n"

    def _tool(self, event: ToolCallDelta) -> bytes:
        block = self._calls.get(event.index)
        out = b""
        if block is None or event.id is not None:
            call = {
                "type": "tool_use",
                "id": event.id or f"toolu_{self._request_id[-12:]}{event.index}",
                "name": event.name or "",
                "input": {},
            }
            out = self._begin(call)
            block = self._calls[event.index] = self._next - 1
        if event.arguments:
            delta = {"type": "input_json_delta", "partial_json": event.arguments}
            out += frame("content_block_delta", {"index": block, "delta": delta})
        return out

    def encode(self, event: Event) -> bytes | None:
        start = self._start
        if start is not None:
            self._start = None
            body = self.encode(event)
            return start + body if body else start
        if event.__class__ is TextDelta:  # nearly every event: the shortest way through
            text = event.text
            prefix = self._text_prefix
            if prefix is not None and text and not event.choice:
                return prefix + orjson.dumps(text) + b"}}\n\n"
        if isinstance(event, TextDelta):
            return self._open_text(event.text) if event.text and not event.choice else None
        if isinstance(event, ToolCallDelta):
            return None if event.choice else self._tool(event)
        if isinstance(event, Finish):
            if event.choice:
                return None
            self._stop, self._stop_sequence = event.reason, event.stop_sequence
            return self._close() or None
        if isinstance(event, Usage):
            self._usage = event
        return None

    def error(self, error: ContinuumError) -> bytes:
        return b"event: error\ndata: " + error_json(error) + b"\n\n"

    def end(self) -> bytes:
        closing = self._close()
        if self._stop is None and self._calls:
            self._stop = "tool_calls"
        usage = self._usage
        counts = (
            {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}
            if usage is not None
            else {"output_tokens": 0}
        )
        delta = {
            "delta": {
                "stop_reason": stop_reason(self._stop, self._stop_sequence),
                "stop_sequence": self._stop_sequence,
            },
            "usage": counts,
        }
        return (self._start or b"") + closing + frame("message_delta", delta) + MESSAGE_STOP

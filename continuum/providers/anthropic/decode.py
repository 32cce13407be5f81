"""Stream decoding: Anthropic's SSE events to neutral events.

Events from https://docs.anthropic.com/en/docs/build-with-claude/streaming. Input tokens
arrive in ``message_start``, output tokens (cumulative) in ``message_delta`` together
with the stop reason; ``message_stop`` ends the answer; ``error`` events fail it. Text
blocks and ``tool_use`` blocks share one index space: tool calls are renumbered 0..n.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.errors import ContinuumError, UpstreamError, UpstreamUnavailable
from continuum.providers.codecs.shape import WRONG_SHAPE, text
from continuum.providers.codecs.sse import SSEDecoder

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class EventDecoder:
    """Sans-IO: bytes in, events out; ``done`` after ``message_stop``."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._tools: dict[int, int] = {}  # content block index -> tool call index
        self._input_tokens = 0
        self.done = False
        self.failure: ContinuumError | None = None

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self.failure is not None or self.done:
            return events
        try:
            for sse in self._sse.feed(data):
                try:
                    payload = orjson.loads(sse.data)
                except orjson.JSONDecodeError:
                    raise UpstreamError("anthropic upstream sent a malformed event") from None
                try:
                    events.extend(self._event(payload))
                except WRONG_SHAPE:
                    message = "anthropic upstream sent an event of the wrong shape"
                    raise UpstreamError(message) from None
                if self.done:
                    break
        except ValueError as error:
            self.failure = UpstreamError(f"anthropic upstream sent a malformed stream: {error}")
        except ContinuumError as error:
            self.failure = error
        return events

    def _event(self, payload: Any) -> list[Event]:
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind == "message_start":
            usage = (payload.get("message") or {}).get("usage") or {}
            self._input_tokens = int(usage.get("input_tokens") or 0)
        elif kind == "content_block_start":
            block = payload.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self._tools.setdefault(int(payload.get("index") or 0), len(self._tools))
                call = ToolCallDelta(index, id=text(block.get("id")), name=text(block.get("name")))
                return [call]
        elif kind == "content_block_delta":
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return [TextDelta(str(delta["text"]))]
            if delta.get("type") == "input_json_delta":
                index = self._tools.get(int(payload.get("index") or 0), 0)
                return [ToolCallDelta(index, str(delta.get("partial_json") or ""))]
        elif kind == "message_delta":
            delta = payload.get("delta") or {}
            reason = delta.get("stop_reason")
            output = int((payload.get("usage") or {}).get("output_tokens") or 0)
            events: list[Event] = []
            if reason:
                sequence = delta.get("stop_sequence") if reason == "stop_sequence" else None
                events.append(Finish(STOP_REASONS.get(reason, "stop"), 0, text(sequence)))
            events.append(Usage(self._input_tokens, output))
            return events
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            error = payload.get("error") or {}
            message = f"anthropic upstream failed mid-stream: {error.get('message', '')}"
            if error.get("type") == "overloaded_error":
                raise UpstreamUnavailable(message)
            raise UpstreamError(message)
        elif kind is None:
            raise UpstreamError("anthropic upstream sent an event without a type")
        return []  # ping and future event types

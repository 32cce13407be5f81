"""Core events as Responses streaming events: whole SSE frames, ``event:`` naming each type.

One stream reads, in ``sequence_number`` order from 0:

    response.created, response.in_progress
    per item, as it appears:   response.output_item.added
        a message:             response.content_part.added, response.output_text.delta …
        a function call:       response.function_call_arguments.delta …
    at the end, per item:      response.output_text.done, response.content_part.done
                               (or response.function_call_arguments.done),
                               response.output_item.done
    then one of:               response.completed | response.incomplete (cut by
                               max_output_tokens) | error + response.failed

``EventEncoder`` is a ``core.relay.Encoder``; the terminal event is separate
(``terminal``), because the door stores the response between the last item and it, so
that a client which sees ``response.completed`` can retrieve the response at once.
Text deltas, nearly every event, are spliced into bytes prepared once per message.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.dialects.responses.items import output_text_part
from continuum.dialects.responses.output import CallOut, Head, MessageOut, Output
from continuum.errors import ContinuumError

_DELTA = "response.output_text.delta"


class EventEncoder:
    """Encodes one response's stream (see the module docstring)."""

    def __init__(self, head: Head, output: Output):
        self._head = head
        self._output = output
        self._seq = 0
        self._started = False
        self._delta_prefix: dict[int, bytes] = {}
        self.failure: ContinuumError | None = None

    def _frame(self, kind: str, payload: dict[str, Any]) -> bytes:
        payload = {"type": kind, **payload, "sequence_number": self._seq}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def _start(self) -> bytes:
        self._started = True
        response = self._head.response("in_progress", [])
        return self._frame("response.created", {"response": response}) + self._frame(
            "response.in_progress", {"response": response}
        )

    def _text_delta(self, message: MessageOut, text: str) -> bytes:
        prefix = self._delta_prefix.get(message.index)
        if prefix is None:
            prefix = self._delta_prefix[message.index] = (
                b"event: " + _DELTA.encode() + b'\ndata: {"type":"' + _DELTA.encode()
                + b'","item_id":' + orjson.dumps(message.id)
                + b',"output_index":%d,"content_index":0,"logprobs":[],"delta":' % message.index
            )  # fmt: skip
        seq = self._seq
        self._seq = seq + 1
        return prefix + orjson.dumps(text) + b',"sequence_number":%d}\n\n' % seq

    def _text(self, event: TextDelta) -> bytes:
        message, opened = self._output.text(event)
        if not opened:
            return self._text_delta(message, event.text)
        index = message.index
        return (
            self._frame(
                "response.output_item.added",
                {"output_index": index, "item": message.item("in_progress")},
            )
            + self._frame(
                "response.content_part.added",
                {
                    "item_id": message.id,
                    "output_index": index,
                    "content_index": 0,
                    "part": output_text_part(""),
                },
            )
            + self._text_delta(message, event.text)
        )

    def _call(self, event: ToolCallDelta) -> bytes:
        call, opened = self._output.call(event)
        frames = b""
        if opened:
            frames = self._frame(
                "response.output_item.added",
                {"output_index": call.index, "item": call.item("in_progress")},
            )
        if event.arguments:
            frames += self._frame(
                "response.function_call_arguments.delta",
                {"item_id": call.id, "output_index": call.index, "delta": event.arguments},
            )
        return frames

    def encode(self, event: Event) -> bytes | None:
        frames = b"" if self._started else self._start()
        kind = event.__class__
        if kind is TextDelta:
            if event.choice == 0:  # type: ignore[union-attr]
                frames += self._text(event)  # type: ignore[arg-type]
        elif kind is ToolCallDelta:
            if event.choice == 0:  # type: ignore[union-attr]
                frames += self._call(event)  # type: ignore[arg-type]
        elif kind is Finish:
            if event.choice == 0:  # type: ignore[union-attr]
                self._output.finish = event.reason  # type: ignore[union-attr]
        elif kind is Usage:
            self._output.usage = event  # type: ignore[assignment]
        return frames or None

    def error(self, error: ContinuumError) -> bytes:
        """The ``error`` event; the response then ends with ``response.failed``."""
        frames = b"" if self._started else self._start()
        self.failure = error
        return frames + self._frame(
            "error", {"code": error.code, "message": error.message, "param": error.param}
        )

    def _close_message(self, message: MessageOut, status: str) -> bytes:
        text = message.text
        where = {"item_id": message.id, "output_index": message.index, "content_index": 0}
        return (
            self._frame("response.output_text.done", {**where, "text": text, "logprobs": []})
            + self._frame("response.content_part.done", {**where, "part": output_text_part(text)})
            + self._frame(
                "response.output_item.done",
                {"output_index": message.index, "item": message.item(status)},
            )
        )

    def _close_call(self, call: CallOut, status: str) -> bytes:
        return self._frame(
            "response.function_call_arguments.done",
            {
                "item_id": call.id,
                "output_index": call.index,
                "name": call.name,
                "arguments": call.arguments,
            },
        ) + self._frame(
            "response.output_item.done", {"output_index": call.index, "item": call.item(status)}
        )

    def end(self) -> bytes | None:
        """Close every item (the answer ended well); the terminal event comes from ``terminal``."""
        status = self._output.status
        frames = b""
        for item in self._output.items:
            if isinstance(item, MessageOut):
                frames += self._close_message(item, status)
            else:
                frames += self._close_call(item, status)
        return frames or None

    def final(self, now: int) -> dict[str, Any]:
        """The Response as the stream ends (failed if an error was sent)."""
        return self._head.final(self._output, now, self.failure)

    def terminal(self, response: dict[str, Any], body: bytes | None = None) -> bytes:
        """``response.completed``, ``response.incomplete`` or ``response.failed``.

        ``body`` is ``response`` already encoded (the stored copy), spliced in as is.
        """
        kind = f"response.{response['status']}".encode()
        seq = self._seq
        self._seq = seq + 1
        body = orjson.dumps(response) if body is None else body
        return (
            b"event: " + kind + b'\ndata: {"type":"' + kind + b'","response":' + body
            + b',"sequence_number":%d}\n\n' % seq
        )  # fmt: skip

"""Stream decoding: Ollama's NDJSON chat lines to neutral events.

Usage comes from the final line's ``prompt_eval_count`` and ``eval_count``
(https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion).
Ollama sends each tool call whole, with ``arguments`` as an object and no id: the
decoder numbers the calls and writes the arguments as JSON text.
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.errors import ContinuumError, UpstreamError
from continuum.providers.codecs.ndjson import MalformedLine, NDJSONDecoder
from continuum.providers.codecs.shape import WRONG_SHAPE, text


class LineDecoder:
    """Sans-IO: bytes in, events out; ``done`` after the ``"done": true`` line."""

    def __init__(self) -> None:
        self._lines = NDJSONDecoder()
        self._calls = 0
        self.done = False
        self.failure: ContinuumError | None = None

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self.failure is not None or self.done:
            return events
        try:
            try:
                lines = self._lines.feed(data)
            except MalformedLine as error:
                lines = error.items
                self.failure = UpstreamError("ollama upstream sent a malformed line")
            except ValueError:
                lines = []
                self.failure = UpstreamError("ollama upstream sent an over-long line")
            for line in lines:
                try:
                    events.extend(self._line(line))
                except WRONG_SHAPE:
                    raise UpstreamError("ollama upstream sent a line of the wrong shape") from None
                if self.done:
                    break
        except ContinuumError as error:
            self.failure = error
        return events

    def _line(self, line: Any) -> list[Event]:
        if not isinstance(line, dict):
            raise UpstreamError("ollama upstream sent a line that is not an object")
        if line.get("error"):
            raise UpstreamError(f"ollama upstream failed mid-stream: {line['error']}")
        events: list[Event] = []
        message = line.get("message") or {}
        if message.get("content"):
            events.append(TextDelta(str(message["content"])))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = orjson.dumps(arguments).decode()
            events.append(
                ToolCallDelta(
                    self._calls,
                    arguments,
                    id=f"call_{self._calls}",
                    name=text(function.get("name")),
                )
            )
            self._calls += 1
        if line.get("done"):
            self.done = True
            reason = "length" if line.get("done_reason") == "length" else "stop"
            events.append(Finish("tool_calls" if self._calls else reason))
            prompt, completion = line.get("prompt_eval_count"), line.get("eval_count")
            events.append(Usage(int(prompt or 0), int(completion or 0)))
        return events

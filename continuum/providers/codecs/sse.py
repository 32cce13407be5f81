"""A sans-IO decoder of ``text/event-stream`` (the WHATWG server-sent events format).

Feed it bytes as they arrive, in pieces of any size; it returns the complete events.
Lines may end in ``\\n`` or ``\\r\\n`` (what LLM APIs send; a lone ``\\r`` is not a
line end here); comment lines (``:``) are skipped; several ``data:`` lines of one event
are joined with ``\\n``. A line longer than ``max_line`` bytes raises
``ValueError`` (a broken or hostile upstream must not make the gateway buffer without
bound). ``close()`` reports whether input ended mid-event.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE = 1 << 20


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    """Incremental SSE parser: ``feed(bytes) -> list[ServerSentEvent]``."""

    def __init__(self, max_line: int = MAX_LINE):
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self._buffer += chunk
        events: list[ServerSentEvent] = []
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > self._max_line:
            raise ValueError(f"event-stream line longer than {self._max_line} bytes")
        for raw in lines:
            event = self._line(raw.removesuffix(b"\r").decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = ServerSentEvent("\n".join(self._data), self._event or "message", self._id)
            self._data, self._event = [], ""
            return event
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value
        return None

    def close(self) -> bool:
        """True when the input ended cleanly (nothing half-received)."""
        return not self._data and not self._buffer.strip()

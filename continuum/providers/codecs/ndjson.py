"""A sans-IO decoder of newline-delimited JSON (Ollama's streaming format).

``feed(bytes)`` returns the parsed objects of every complete line; blank lines are
skipped; a line that is not JSON raises ``MalformedLine`` (a ``ValueError`` that carries
the objects decoded before it in the same piece); a line longer than
``max_line`` raises ``ValueError``. ``close()`` is False when a partial line remains.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_LINE = 1 << 20


class MalformedLine(ValueError):
    def __init__(self, message: str, items: list[Any]):
        super().__init__(message)
        self.items = items


class NDJSONDecoder:
    def __init__(self, max_line: int = MAX_LINE):
        self._buffer = b""
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[Any]:
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        if len(self._buffer) > self._max_line:
            raise ValueError(f"NDJSON line longer than {self._max_line} bytes")
        items = []
        for line in lines:
            if line.strip():
                try:
                    items.append(orjson.loads(line))
                except orjson.JSONDecodeError as error:
                    raise MalformedLine(f"malformed NDJSON line: {line[:80]!r}", items) from error
        return items

    def close(self) -> bool:
        return not self._buffer.strip()

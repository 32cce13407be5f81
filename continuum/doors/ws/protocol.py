"""Uvicorn's WebSocket protocol, with the frames of one event-loop turn sent in one write.

Uvicorn writes every WebSocket message to the socket at once: a stream of small chunks
costs a system call each, which was 45% of the WebSocket door's CPU (bench/doors.py).
``CorkedWebSockets`` hands uvicorn a transport whose ``write`` gathers what one turn of
the loop sends and writes it all when the turn is over (``call_soon``): the same bytes in
the same order, at most one loop turn later, as the SSE writer's coalescing does.
Backpressure is unchanged: the real transport still pauses uvicorn when its buffer
fills, one gathered write at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class _Cork:
    """A transport that gathers writes until the end of the loop's current turn."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()  # a close frame written just before must still go out
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CorkedWebSockets(WebSocketsSansIOProtocol):
    """``WebSocketsSansIOProtocol`` writing through a ``_Cork`` (pass as uvicorn's ``ws=``)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport = _Cork(transport, self.loop)  # type: ignore[assignment,arg-type]

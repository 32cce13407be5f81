"""Frames on their way to one WebSocket client, bounded in bytes.

A door never waits for its client: it puts each frame in the outbox and goes on, and one
writer task per connection sends them in order. A client that reads slower than its
answers are made lets the outbox grow; past ``limit`` unsent bytes it is a slow consumer
and ``put`` raises ``SlowConsumer`` (the connection is then closed), so a reader that
stalls costs at most ``limit`` bytes here, never an unbounded buffer, and never holds an
upstream open while it dawdles.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any


class SlowConsumer(Exception):
    """The client has left more than the outbox's limit of bytes unread."""


class Outbox:
    """Frames (JSON text as bytes) waiting for the writer, and the bytes they hold."""

    __slots__ = ("_frames", "_limit", "_ready", "_send", "held")

    def __init__(self, send: Callable[[Any], Awaitable[None]], limit: int):
        self._send = send
        self._limit = limit
        self._frames: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self.held = 0  # bytes put and not yet written (the frame being written included)

    def put(self, frame: bytes) -> None:
        """Queue one frame, or raise ``SlowConsumer`` if the client is too far behind."""
        held = self.held + len(frame)
        if held > self._limit:
            raise SlowConsumer(f"more than {self._limit} bytes unread")
        self.held = held
        self._frames.append(frame)
        self._ready.set()

    async def run(self) -> None:
        """The writer: sends frames as text messages, in order, until cancelled or the
        client is gone (the send's error ends it)."""
        frames, ready, send = self._frames, self._ready, self._send
        while True:
            if not frames:
                ready.clear()
                await ready.wait()
            frame = frames.popleft()
            await send({"type": "websocket.send", "text": frame.decode()})
            self.held -= len(frame)

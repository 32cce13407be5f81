"""Frames on their way to one WebSocket client, bounded in bytes and in patience.

A door puts each frame in the outbox and one writer task per connection sends them, in
order. While the client keeps up, a door never waits. Past ``limit`` unsent bytes the
door waits for the writer (the upstream waits with it: backpressure, not buffering); if
the client has not taken the outbox back under its limit within ``patience`` seconds it
is a slow consumer: ``SlowConsumer`` is raised and the connection closed. A client that
stalls thus costs at most ``limit`` bytes plus one frame here, and holds an upstream open
for at most ``patience`` seconds.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any


class SlowConsumer(Exception):
    """The client has left more than the outbox's limit unread for too long."""


class Outbox:
    """Frames (JSON text as bytes) waiting for the writer, and the bytes they hold."""

    __slots__ = (
        "_frames",
        "_idle",
        "_limit",
        "_patience",
        "_ready",
        "_room",
        "_send",
        "held",
        "put_count",
        "sent_count",
    )

    def __init__(self, send: Callable[[Any], Awaitable[None]], limit: int, patience: float):
        self._send = send
        self._limit = limit
        self._patience = patience
        self._frames: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._idle = False  # the writer waits for a frame
        self._room = asyncio.Event()
        self._room.set()
        self.held = 0  # bytes put and not yet written (the frame being written included)
        # Frames put and frames written so far: frame n (counting from 1) has reached the
        # socket once sent_count >= n (a door that must know what a client got uses them).
        self.put_count = 0
        self.sent_count = 0

    def put(self, frame: bytes) -> bool:
        """Queue one frame; True when the outbox is now over its limit (await ``room``)."""
        self.held += len(frame)
        self.put_count += 1
        self._frames.append(frame)
        if self._idle:
            self._idle = False
            self._ready.set()
        if self.held > self._limit:
            self._room.clear()
            return True
        return False

    async def room(self) -> None:
        """Wait until the writer has taken the outbox under its limit, or raise
        ``SlowConsumer`` if it has not within the patience."""
        try:
            await asyncio.wait_for(self._room.wait(), self._patience)
        except TimeoutError:
            raise SlowConsumer(
                f"more than {self._limit} bytes unread for {self._patience:g} s"
            ) from None

    def clear(self) -> None:
        self._frames.clear()

    async def run(self) -> None:
        """The writer: sends frames as text messages, in order, until cancelled or the
        client is gone (the send's error ends it)."""
        frames, ready, room, send, limit = (
            self._frames,
            self._ready,
            self._room,
            self._send,
            self._limit,
        )
        while True:
            if not frames:
                ready.clear()
                self._idle = True
                await ready.wait()
            frame = frames.popleft()
            await send({"type": "websocket.send", "text": frame.decode()})
            self.held -= len(frame)
            self.sent_count += 1
            if self.held <= limit:
                room.set()

"""One request's events on a ``TcpClient``: an async iterator that returns credit as it
is consumed and cancels the request when closed early."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta
from continuum.doors.tcp.flow import Replenisher, Window

if TYPE_CHECKING:
    from continuum.client.errors import ClientError
    from continuum.client.tcp import TcpClient
    from continuum.doors.tcp.payloads import Done


class TcpStream:
    """The events of one request, in order: deltas, then ``Finish`` per choice and
    ``Usage``. Raises ``ServerError`` at the point where the server ended it with an
    error, ``ConnectionClosed`` if the connection went first."""

    def __init__(self, client: TcpClient, request_id: int, window: int):
        self.request_id = request_id
        self._client = client
        self._events: deque[tuple[Event, int]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._window = Window(window)
        self._owed = Replenisher(window)
        self._ended = False  # the server sent the terminal frame, or the connection died
        self._closed = False  # the application is done with it
        self._error: ClientError | None = None

    def __aiter__(self) -> TcpStream:
        return self

    async def __anext__(self) -> Event:
        while not self._events:
            if self._closed:
                raise StopAsyncIteration
            if self._ended:
                self._closed = True
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._waiter = self._client.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        event, size = self._events.popleft()
        if size and not self._ended:
            increment = self._owed.add(size)
            if increment:
                self._window.grant(increment)
                self._client.return_credit(self.request_id, increment)
        return event

    async def aclose(self) -> None:
        """Stop reading; a request the server has not ended is cancelled (CANCEL frame)."""
        if self._closed:
            return
        self._closed = True
        self._events.clear()
        if self._ended:
            return
        self._ended = True
        self._client.cancel(self)
        self._wake()

    async def __aenter__(self) -> TcpStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def text(self) -> str:
        """Read the whole stream and return choice 0's text (tool calls are skipped)."""
        parts = [e.text async for e in self if isinstance(e, TextDelta) and not e.choice]
        return "".join(parts)

    # -- fed by the client's connection -----------------------------------------------

    def received(self, event: TextDelta | ToolCallDelta, size: int) -> None:
        self._window.consume(size)  # a server past our window breaks the protocol
        if not self._closed:
            self._events.append((event, size))
            self._wake()

    def done(self, done: Done) -> None:
        for choice, reason in enumerate(done.finish_reasons):
            if reason is not None:
                self._events.append((Finish(reason, choice), 0))
        if done.usage is not None:
            self._events.append((done.usage, 0))
        self._ended = True
        self._wake()

    def failed(self, error: ClientError) -> None:
        if self._ended:
            return
        self._error = error
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

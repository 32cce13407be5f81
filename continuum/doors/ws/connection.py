"""The WebSocket door kit: one connection, many requests, every buffer bounded.

    reader ─► waiting requests ─► worker: one request at a time, in arrival order
                                    └─► outbox (bounded bytes) ─► writer ─► client

A door is a ``SocketDoor``, an ASGI app made of two things: how to serve one request (a
coroutine that reads the message and ``Socket.send``\\ s or ``Socket.relay``\\ s frames)
and how its dialect renders an error. The kit does the rest, for every WebSocket door:

* Requests are answered one at a time, in the order they arrived; a request sent while
  another streams waits its turn. Each reply is thus about the oldest unanswered request,
  errors included, which seed 001's id-less messages need (docs/doors.md).
* The reader never stops reading, so a client that leaves is noticed at once (its
  request is cancelled: the upstream is closed and the ledger records 499) and
  keep-alive pongs are never stuck behind a request. What it has read and not yet served
  is bounded: more than ``max_pending`` requests, or more than the body limit in bytes,
  waiting is a policy violation (close 1008).
* A message over the body limit closes the connection with 1009 (Message Too Big).
* A failure of one request (``ContinuumError``, or a bug, logged) is that request's error
  frame; the connection goes on serving.
* Frames go through a bounded outbox; a client that leaves more than
  ``max_buffered_bytes`` unread is a slow consumer: its request is cancelled and the
  connection closed (1008).
* A door whose connections have state (seed 003's chat sessions) gives an ``Opening``:
  entered once before the first request, it yields the connection's handler and is
  exited when the connection ends, however it ends. A ``ContinuumError`` on entry
  refuses the connection: its error frame is sent and the connection closed (1008).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from continuum.core.relay import E, Encoder, relay
from continuum.doors.http.auth import credential
from continuum.doors.http.services import client_host, gateway_of
from continuum.doors.ws.outbox import Outbox, SlowConsumer
from continuum.errors import ContinuumError, InternalError
from continuum.gateway import Gateway

log = logging.getLogger("continuum.ws")

POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
# A close frame waits behind what the client has not read; a slow consumer gets this long.
CLOSE_TIMEOUT = 1.0

Close = tuple[int, str]
RenderError = Callable[[ContinuumError], bytes]


@dataclass(frozen=True, slots=True)
class SocketLimits:
    """What one connection may hold (see the module docstring)."""

    max_message_bytes: int
    max_pending: int
    max_buffered_bytes: int
    patience: float

    @classmethod
    def of(cls, gateway: Gateway) -> SocketLimits:
        settings = gateway.settings
        return cls(
            settings.max_body_bytes,
            settings.ws_max_pending,
            settings.ws_max_buffered_bytes,
            settings.ws_slow_consumer_seconds,
        )


def connection_credential(websocket: WebSocket) -> str | None:
    """The key given when the connection opened: ``Authorization: Bearer`` (clients that can
    set headers), else the ``token`` query parameter (browsers, which cannot)."""
    return credential(websocket) or websocket.query_params.get("token") or None


class Socket:
    """One connection as a request handler sees it."""

    __slots__ = ("_outbox", "client", "credential", "gateway", "websocket")

    def __init__(self, websocket: WebSocket, outbox: Outbox):
        self.websocket = websocket
        self.gateway = gateway_of(websocket)
        self.credential = connection_credential(websocket)
        self.client = client_host(websocket)
        self._outbox = outbox

    @property
    def frames_put(self) -> int:
        """Frames given to ``send`` or ``relay`` so far on this connection."""
        return self._outbox.put_count

    @property
    def frames_sent(self) -> int:
        """Of those, how many have been written to the socket (they go in order)."""
        return self._outbox.sent_count

    async def send(self, frame: bytes) -> None:
        """Send one text message (JSON bytes) through the outbox (``SlowConsumer``: the
        client stalled past the outbox's limit and patience)."""
        if self._outbox.put(frame):
            await self._outbox.room()

    async def relay(
        self,
        first: E,
        events: AsyncGenerator[E, None],
        encoder: Encoder[E, bytes],
        request_id: str,
    ) -> None:
        """Send ``first`` and the rest of ``events`` as ``encoder``'s frames. However this
        ends (a slow consumer, a cancellation), the stream is closed at once."""
        outbox = self._outbox
        async with contextlib.aclosing(relay(first, events, encoder, request_id)) as frames:
            async for frame in frames:
                if outbox.put(frame):
                    await outbox.room()


Handler = Callable[[Socket, str | bytes], Awaitable[None]]
"""Serves one request message (text, or a binary message's bytes)."""

Opening = Callable[[Socket], AbstractAsyncContextManager[Handler]]
"""A stateful connection's life: entered before its first request (it may already send
frames), yields the handler of its requests, exited when the connection ends."""


class Refused(Exception):
    """The connection's ``Opening`` refused it: ``frame`` says why, then it is closed."""

    def __init__(self, frame: bytes, reason: str):
        super().__init__(reason)
        self.frame = frame
        self.reason = reason


class _Requests:
    """Messages read and not yet served, bounded in count and bytes."""

    def __init__(self, limits: SocketLimits):
        self._limits = limits
        self._items: deque[tuple[str | bytes, int]] = deque()
        self._bytes = 0
        self._arrived = asyncio.Event()

    def add(self, text: str | bytes, size: int) -> Close | None:
        limits = self._limits
        if len(self._items) >= limits.max_pending or self._bytes + size > limits.max_message_bytes:
            return POLICY_VIOLATION, "too many requests waiting: read the answers first"
        self._items.append((text, size))
        self._bytes += size
        self._arrived.set()
        return None

    async def next(self) -> str | bytes:
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        text, size = self._items.popleft()
        self._bytes -= size
        return text


def _size(text: str | bytes) -> int:
    # UTF-8 takes 1 to 4 bytes a character: encode only text that is not ASCII.
    if isinstance(text, bytes) or text.isascii():
        return len(text)
    return len(text.encode())


async def _read(receive: Receive, requests: _Requests, limits: SocketLimits) -> Close | None:
    """Read messages until the client leaves (None) or breaks a limit (the close to send)."""
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return None
        text: str | bytes | None = message.get("text")
        if text is None:  # a binary message: JSON all the same (orjson checks its UTF-8)
            text = message.get("bytes") or b""
        size = _size(text)
        if size > limits.max_message_bytes:
            return MESSAGE_TOO_BIG, f"messages are limited to {limits.max_message_bytes} bytes"
        refused = requests.add(text, size)
        if refused is not None:
            return refused


async def _work(
    socket: Socket,
    requests: _Requests,
    handle: Handler | None,
    render: RenderError,
    opening: Opening | None,
) -> None:
    if opening is None:
        assert handle is not None
        await _serve(socket, requests, handle, render)
        return
    entered = False
    try:
        async with opening(socket) as handler:
            entered = True
            await _serve(socket, requests, handler, render)
    except ContinuumError as error:
        if entered:  # _serve answers every request's errors: this one came from the exit
            raise
        raise Refused(render(error), error.message[:120]) from None


async def _serve(socket: Socket, requests: _Requests, handle: Handler, render: RenderError) -> None:
    """Serve requests one at a time; each failure is its request's error frame."""
    task = asyncio.current_task()
    assert task is not None
    while True:
        text = await requests.next()
        try:
            await handle(socket, text)
        except SlowConsumer:
            raise
        except ContinuumError as error:
            _still_cancelled(task)
            await socket.send(render(error))
        except Exception:  # a request's outermost boundary: log it, answer, serve the next
            log.exception("a WebSocket request on %s failed", socket.websocket.url.path)
            _still_cancelled(task)
            bug = InternalError("The server had an error processing your request.")
            await socket.send(render(bug))
        _still_cancelled(task)


def _still_cancelled(task: asyncio.Task[None]) -> None:
    """Raise ``CancelledError`` if the connection cancelled this request and a layer below
    swallowed it (ended the request normally, or as an error): serving on would wait for
    a next request that never comes and hold the connection, and the shutdown, forever."""
    if task.cancelling():
        raise asyncio.CancelledError


class SocketDoor:
    """A WebSocket door as a plain ASGI app: ``handle`` serves each request message and
    ``render`` is its dialect's error frame.

    Plain ASGI rather than a FastAPI endpoint: every frame of every answer goes through
    ``send``, and Starlette's ``WebSocket.send`` wrappers were a fifth of the door's CPU
    per chunk (``bench/ws_door.py``). ``WebSocket`` still reads the handshake (headers,
    query, client, the app) for the handlers.
    """

    def __init__(
        self,
        handle: Handler | None,
        render: RenderError,
        opening: Opening | None = None,
        door: str = "ws",
    ):
        if (handle is None) == (opening is None):
            raise ValueError("a SocketDoor serves with a handler or with an opening")
        self.handle = handle
        self.render = render
        self.opening = opening
        self.door = door  # its name in the websocket_connections gauge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return  # gone before the handshake
        await send({"type": "websocket.accept"})
        websocket = WebSocket(scope, receive, send)
        metrics = gateway_of(websocket).metrics
        metrics.websocket_opened(self.door)
        try:
            await serve_socket(websocket, receive, send, self.handle, self.render, self.opening)
        finally:
            metrics.websocket_closed(self.door)


async def serve_socket(
    websocket: WebSocket,
    receive: Receive,
    send: Send,
    handle: Handler | None,
    render: RenderError,
    opening: Opening | None = None,
) -> None:
    """Serve the requests of an accepted connection with ``handle`` until it closes."""
    limits = SocketLimits.of(gateway_of(websocket))
    outbox = Outbox(send, limits.max_buffered_bytes, limits.patience)
    socket = Socket(websocket, outbox)
    requests = _Requests(limits)
    reader = asyncio.create_task(_read(receive, requests, limits))
    worker = asyncio.create_task(_work(socket, requests, handle, render, opening))
    writer = asyncio.create_task(outbox.run())
    tasks = (reader, worker, writer)
    close: Close | None = None
    refused: Refused | None = None
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if reader in done and not reader.cancelled() and reader.exception() is None:
            close = reader.result()
        elif worker in done and not worker.cancelled():
            failure = worker.exception()
            if isinstance(failure, SlowConsumer):
                close = POLICY_VIOLATION, "slow consumer: the client did not read its answers"
            elif isinstance(failure, Refused):
                refused = failure
                close = POLICY_VIOLATION, failure.reason
    finally:
        # Cancelling the worker cancels its request: the upstream closes, the ledger says 499.
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        outbox.clear()  # what a slow consumer left unread is dropped, not kept while closing
    for result in results:
        if isinstance(result, Exception) and not isinstance(
            result, SlowConsumer | Refused | OSError
        ):
            log.error("WebSocket %s: %r", websocket.url.path, result, exc_info=result)
    if close is not None:
        code, reason = close
        with contextlib.suppress(OSError, TimeoutError):
            if refused is not None:  # nothing else was sent: the refusal goes out directly
                frame = {"type": "websocket.send", "text": refused.frame.decode()}
                await asyncio.wait_for(send(frame), CLOSE_TIMEOUT)
            message = {"type": "websocket.close", "code": code, "reason": reason}
            await asyncio.wait_for(send(message), CLOSE_TIMEOUT)

"""A client of the Continuum TCP protocol (docs/protocol.md) with an async-iterator API.

    async with await TcpClient.connect("127.0.0.1", 8989, key="ck-...") as client:
        async for event in client.stream({"model": "m", "messages": [...]}):
            if isinstance(event, TextDelta):
                print(event.text, end="")

Many streams may run at once on one client; each yields the core events (``TextDelta``,
``ToolCallDelta``, then ``Finish`` per choice and ``Usage``) and raises ``ServerError``
when the server ends it with an error. Closing a stream early (``aclose``, or leaving an
``async with``/``async for`` by ``break`` in an ``async with``) cancels the request.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import orjson

from continuum.client.errors import ClientError, ConnectionClosed, GoingAway, ServerError
from continuum.client.stream import TcpStream
from continuum.doors.tcp import codec
from continuum.doors.tcp.codec import FrameDecoder, encode_frame
from continuum.doors.tcp.errors import ProtocolError
from continuum.doors.tcp.flow import Replenisher, Window
from continuum.doors.tcp.frames import (
    DEFAULT_MAX_FRAME,
    FLAG_MORE,
    MAX_FRAME_CEILING,
    PREFACE,
    Frame,
    FrameType,
)
from continuum.doors.tcp.payloads import Done, ErrorInfo, GoAway, Hello, Welcome

DEFAULT_PORT = 8989


def _server_error(info: ErrorInfo) -> ServerError:
    return ServerError(info.status, info.code, info.message, info.param, info.retry_after)


class TcpClient(asyncio.Protocol):
    """One connection to a Continuum TCP server. Make it with ``await TcpClient.connect``."""

    def __init__(self, key: str, client_name: str | None, max_frame_size: int):
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.welcome: Welcome | None = None
        self.goaway: GoAway | None = None
        self._hello = Hello(key, client_name, max_frame_size)
        self._decoder = FrameDecoder(versions=None)
        self._welcomed: asyncio.Future[Welcome] = self.loop.create_future()
        self._streams: dict[int, TcpStream] = {}
        self._ids = itertools.count(1)
        self._pings: dict[bytes, asyncio.Future[None]] = {}
        self._ping_ids = itertools.count(1)
        self._window = Window(0)
        self._owed = Replenisher(1)
        self._failure: ClientError | None = None
        self._closed: asyncio.Future[None] = self.loop.create_future()

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        key: str,
        *,
        client_name: str | None = "continuum-python",
        max_frame_size: int = 65_536,
        connect_timeout: float = 10.0,
    ) -> TcpClient:
        """Connect, authenticate with ``key`` and return once the server has welcomed us.

        Raises ``ServerError`` (e.g. 401 ``invalid_api_key``) if the server refuses.
        """
        if not DEFAULT_MAX_FRAME <= max_frame_size <= MAX_FRAME_CEILING:
            raise ValueError(f"max_frame_size must be {DEFAULT_MAX_FRAME}..{MAX_FRAME_CEILING}")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(connect_timeout):
            _, client = await loop.create_connection(
                lambda: cls(key, client_name, max_frame_size), host, port
            )
            try:
                await client._welcomed
            except BaseException:
                client._abort()
                raise
        return client

    @classmethod
    async def connect_url(cls, url: str, key: str, **options: Any) -> TcpClient:
        """``connect`` from a ``tcp://host[:port]`` URL (port 8989 when absent)."""
        parsed = urlsplit(url)
        if parsed.scheme != "tcp" or not parsed.hostname:
            raise ValueError(f"not a tcp://host[:port] URL: {url!r}")
        return await cls.connect(parsed.hostname, parsed.port or DEFAULT_PORT, key, **options)

    async def __aenter__(self) -> TcpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the API ----------------------------------------------------------------------

    @property
    def draining(self) -> bool:
        """True once the server sent GOAWAY: open requests finish, new ones are refused."""
        return self.goaway is not None

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def stream(self, body: Mapping[str, Any] | bytes) -> TcpStream:
        """Send one chat request (the body of ``POST /v1/chat/completions``) and return its
        stream of events. The request is on the wire when this returns."""
        if self._failure is not None:
            raise ConnectionClosed(f"the connection is closed ({self._failure})")
        if self.goaway is not None:
            raise GoingAway("the server sent GOAWAY: open a new connection")
        assert self.welcome is not None and self.transport is not None
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        request_id = next(self._ids)
        stream = TcpStream(self, request_id, self.welcome.initial_request_window)
        self._streams[request_id] = stream
        size = self.welcome.max_frame_size
        pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        last = len(pieces) - 1
        self.transport.write(
            b"".join(
                encode_frame(FrameType.REQUEST, request_id, piece, 0 if i == last else FLAG_MORE)
                for i, piece in enumerate(pieces)
            )
        )
        return stream

    async def ping(self) -> float:
        """Round-trip time of a PING, in seconds (bound it with ``asyncio.timeout``)."""
        if self._failure is not None:
            raise ConnectionClosed(f"the connection is closed ({self._failure})")
        assert self.transport is not None
        payload = next(self._ping_ids).to_bytes(8, "big")
        answered = self.loop.create_future()
        self._pings[payload] = answered
        start = time.perf_counter()
        self.transport.write(encode_frame(FrameType.PING, 0, payload))
        try:
            await answered
        finally:
            self._pings.pop(payload, None)
        return time.perf_counter() - start

    async def close(self) -> None:
        """Close the connection; open streams raise ``ConnectionClosed``."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        await asyncio.shield(self._closed)

    async def wait_closed(self) -> None:
        """Wait until the server (or we) closed the connection."""
        await asyncio.shield(self._closed)

    # -- used by TcpStream ------------------------------------------------------------

    def cancel(self, stream: TcpStream) -> None:
        self._streams.pop(stream.request_id, None)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(FrameType.CANCEL, stream.request_id))

    def forget(self, stream: TcpStream) -> None:
        self._streams.pop(stream.request_id, None)

    def return_credit(self, request_id: int, increment: int) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(codec.encode_window_update(request_id, increment))

    # -- asyncio callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(PREFACE + self._hello.encode())

    def data_received(self, data: bytes) -> None:
        try:
            self._decoder.feed(data)
            while (frame := self._decoder.next_frame()) is not None:
                self._dispatch(frame)
        except ProtocolError as error:
            message = f"the server broke the protocol: {error.message}"
            self._fail(lambda: ConnectionClosed(message))
            self._abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(lambda: ConnectionClosed("the connection closed"))
        if not self._closed.done():
            self._closed.set_result(None)

    # -- frames -----------------------------------------------------------------------

    def _dispatch(self, frame: Frame) -> None:
        ftype = frame.type
        if ftype == FrameType.TEXT or ftype == FrameType.TOOL_CALL:
            size = len(frame.payload)
            self._window.consume(size)
            # Connection credit comes back on receipt: the request window already bounds
            # what one request can make us hold (docs/protocol.md §7.2).
            increment = self._owed.add(size)
            if increment:
                self._window.grant(increment)
                self.return_credit(0, increment)
            stream = self._streams.get(frame.request_id)
            if stream is not None:
                event = (
                    codec.decode_text(frame.payload)
                    if ftype == FrameType.TEXT
                    else codec.decode_tool_call(frame.payload)
                )
                stream.received(event, size)
        elif ftype == FrameType.DONE:
            stream = self._streams.pop(frame.request_id, None)
            if stream is not None:
                stream.done(Done.decode(frame.payload))
        elif ftype == FrameType.ERROR:
            info = ErrorInfo.decode(frame.payload)
            if frame.request_id == 0:
                self._fail(lambda: _server_error(info))
            else:
                stream = self._streams.pop(frame.request_id, None)
                if stream is not None:
                    stream.failed(_server_error(info))
        elif ftype == FrameType.PING:
            self._reply_pong(codec.check_ping(frame.payload))
        elif ftype == FrameType.PONG:
            answered = self._pings.get(codec.check_ping(frame.payload))
            if answered is not None and not answered.done():
                answered.set_result(None)
        elif ftype == FrameType.WELCOME:
            self._on_welcome(Welcome.decode(frame.payload))
        elif ftype == FrameType.GOAWAY:
            self.goaway = GoAway.decode(frame.payload)
        else:
            raise ProtocolError(f"a server may not send {FrameType(ftype).name}")

    def _on_welcome(self, welcome: Welcome) -> None:
        if self.welcome is not None:
            raise ProtocolError("a second WELCOME")
        self.welcome = welcome
        self._decoder.max_frame_size = welcome.max_frame_size
        self._window = Window(welcome.initial_connection_window)
        self._owed = Replenisher(welcome.initial_connection_window)
        if not self._welcomed.done():
            self._welcomed.set_result(welcome)

    def _reply_pong(self, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_frame(FrameType.PONG, 0, payload))

    def _fail(self, error: Callable[[], ClientError]) -> None:
        """End everything open with a fresh ``error()`` each: one exception object raised
        in many tasks would pile every task's traceback onto it."""
        if self._failure is None:
            self._failure = error()
        if not self._welcomed.done():
            self._welcomed.set_exception(error())
            self._welcomed.exception()  # retrieved: connect() raises it, or nobody waits
        for stream in list(self._streams.values()):
            stream.failed(error())
        self._streams.clear()
        for answered in self._pings.values():
            if not answered.done():
                answered.set_exception(error())

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

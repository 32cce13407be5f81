"""A raw connection to the server for tests that must send what no good client would."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from continuum.doors.tcp.codec import FrameDecoder, encode_frame
from continuum.doors.tcp.frames import PREFACE, Frame, FrameType
from continuum.doors.tcp.payloads import ErrorInfo, Hello, Welcome
from tests.doors.tcp.handlers import KEY


class Raw:
    """Bytes out, frames in (the server's preface is checked and skipped).

    Every connection opened in a test is closed after it (``close_all``).
    """

    opened: list[Raw] = []

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        Raw.opened.append(self)
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder(versions=None, max_frame_size=1 << 20)
        self.pending: list[Frame] = []

    @classmethod
    async def open(cls, port: int, receive_buffer: int | None = None) -> Raw:
        if receive_buffer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        else:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    @classmethod
    async def authenticated(cls, port: int) -> Raw:
        raw = await cls.open(port)
        raw.send(PREFACE + Hello(KEY).encode())
        frame = await raw.next()
        assert frame.type == FrameType.WELCOME, frame
        Welcome.decode(frame.payload)
        return raw

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def frame(self, ftype: int, request_id: int, payload: bytes = b"", flags: int = 0) -> None:
        self.send(encode_frame(ftype, request_id, payload, flags))

    async def next(self) -> Frame:
        """The next frame; fails the test if the connection closes first."""
        async with asyncio.timeout(5):
            while not self.pending:
                data = await self.reader.read(65536)
                assert data, "the server closed the connection"
                self.decoder.feed(data)
                self.pending.extend(self.decoder.frames())
        return self.pending.pop(0)

    async def until_closed(self) -> list[Frame]:
        """Every frame until the server closes (a reset counts as a close)."""
        async with asyncio.timeout(10):
            while True:
                try:
                    data = await self.reader.read(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                self.decoder.feed(data)
                self.pending.extend(self.decoder.frames())
        frames, self.pending = self.pending, []
        return frames

    async def connection_error(self) -> ErrorInfo:
        """The ERROR on request id 0 that must end the connection, which must then close."""
        frames = await self.until_closed()
        assert frames, "the server closed without an ERROR frame"
        last = frames[-1]
        assert (last.type, last.request_id) == (FrameType.ERROR, 0), frames
        return ErrorInfo.decode(last.payload)

    @classmethod
    async def close_all(cls) -> None:
        for raw in cls.opened:
            raw.writer.transport.abort()
            with contextlib.suppress(ConnectionError):
                await raw.writer.wait_closed()
        cls.opened.clear()

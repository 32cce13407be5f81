"""Lean clients of the three chat doors, for ``bench.doors``: as little work per chunk as
each wire allows, so that the gateway, not the client, is what gets measured.

* SSE: HTTP/1.1 keep-alive; content chunks are counted with ``bytes.count`` on what
  arrives (no JSON parsing); the response ends with the chunked terminator.
* WebSocket: the upgrade by hand, then frame headers walked in Python (one message per
  chunk); the chunk carrying a ``finish_reason`` ends the answer.
* TCP: the Continuum protocol by hand (``docs/protocol.md``): frame headers walked in
  Python, credit returned in batches, up to 100 requests in flight per connection.

Each connection counts the content chunks it receives in a shared ``Tally`` and times
each request's first chunk. One answer at a time per SSE/WebSocket connection (as
browsers and SDKs use them); TCP multiplexes.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from dataclasses import dataclass, field

import orjson

from continuum.doors.tcp.frames import HEADER, PREFACE, FrameType

CONTENT = b'"content":'
FINISH = b'"finish_reason":"'
TERMINATOR = b"0\r\n\r\n"
_U32 = struct.Struct(">I")


@dataclass
class Tally:
    """What every connection of one door received."""

    chunks: int = 0
    answers: int = 0
    errors: int = 0
    first_chunk: list[float] = field(default_factory=list)  # seconds, one per answer

    def reset(self) -> None:
        self.chunks = self.answers = self.errors = 0
        self.first_chunk.clear()


class _Base(asyncio.Protocol):
    def __init__(self, tally: Tally):
        self.tally = tally
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self._fail_all()

    def _fail_all(self) -> None: ...

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class SseConnection(_Base):
    """One HTTP/1.1 connection streaming ``POST /v1/chat/completions`` answers in turn."""

    def __init__(self, tally: Tally, request: bytes):
        super().__init__(tally)
        self.request = request
        self._tail = b""
        self._sent = 0.0
        self._timed = True
        self._fresh = False  # the next bytes start a response
        self._done: asyncio.Future[bool] | None = None

    async def answer(self) -> bool:
        """Send the request, return once the whole answer arrived (False: an error)."""
        assert self.transport is not None
        self._done = asyncio.get_running_loop().create_future()
        self._tail, self._timed, self._fresh = b"", False, True
        self._sent = time.perf_counter()
        self.transport.write(self.request)
        return await self._done

    def data_received(self, data: bytes) -> None:
        if self._fresh:
            self._fresh = False
            if not data.startswith(b"HTTP/1.1 200"):  # refused: not what is measured
                self._finish(False)
                self.close()
                return
        data = self._tail + data
        count = data.count(CONTENT)
        if count:
            self.tally.chunks += count
            if not self._timed:
                self._timed = True
                self.tally.first_chunk.append(time.perf_counter() - self._sent)
        if data.endswith(TERMINATOR):
            self._tail = b""
            self._finish(True)
        else:
            # Shorter than CONTENT (no match counted twice), longer than TERMINATOR.
            self._tail = data[-(len(CONTENT) - 1) :]

    def _finish(self, ok: bool) -> None:
        if ok:
            self.tally.answers += 1
        else:
            self.tally.errors += 1
        if self._done is not None and not self._done.done():
            self._done.set_result(ok)

    def _fail_all(self) -> None:
        if self._done is not None and not self._done.done():
            self.tally.errors += 1
            self._done.set_result(False)


class WsConnection(_Base):
    """One WebSocket on ``/v1/chat/completions/ws``, one answer at a time."""

    def __init__(self, tally: Tally, host: str, port: int, message: bytes):
        super().__init__(tally)
        key = base64.b64encode(os.urandom(16)).decode()
        self.upgrade = (
            f"GET /v1/chat/completions/ws HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        # A client frame must be masked; a zero mask leaves the payload as it is.
        size = len(message)
        if size < 126:
            head = bytes((0x81, 0x80 | size))
        elif size < 65536:
            head = bytes((0x81, 0x80 | 126)) + struct.pack(">H", size)
        else:
            head = bytes((0x81, 0x80 | 127)) + struct.pack(">Q", size)
        self.frame = head + b"\0\0\0\0" + message
        self._buffer = bytearray()
        self._upgraded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._sent = 0.0
        self._timed = True
        self._done: asyncio.Future[bool] | None = None

    async def open(self) -> bool:
        assert self.transport is not None
        self.transport.write(self.upgrade)
        return await self._upgraded

    async def answer(self) -> bool:
        assert self.transport is not None
        self._done = asyncio.get_running_loop().create_future()
        self._timed = False
        self._sent = time.perf_counter()
        self.transport.write(self.frame)
        return await self._done

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._upgraded.done():
            end = buffer.find(b"\r\n\r\n")
            if end == -1:
                return
            self._upgraded.set_result(buffer.startswith(b"HTTP/1.1 101"))
            del buffer[: end + 4]
        at, size = 0, len(buffer)
        tally = self.tally
        while size - at >= 2:
            length = buffer[at + 1] & 0x7F
            start = at + 2
            if length == 126:
                if size - at < 4:
                    break
                length = (buffer[at + 2] << 8) | buffer[at + 3]
                start = at + 4
            elif length == 127:
                if size - at < 10:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 10], "big")
                start = at + 10
            end = start + length
            if end > size:
                break
            opcode = buffer[at] & 0x0F
            at = end
            if opcode != 1:
                continue  # pings and closes: the benchmark does not need them
            payload = buffer[start:end]
            if CONTENT in payload:
                tally.chunks += 1
                if not self._timed:
                    self._timed = True
                    tally.first_chunk.append(time.perf_counter() - self._sent)
            if FINISH in payload:
                self._finish(True)
            elif payload.startswith(b'{"error"'):
                self._finish(False)
        del buffer[:at]

    def _finish(self, ok: bool) -> None:
        if ok:
            self.tally.answers += 1
        else:
            self.tally.errors += 1
        if self._done is not None and not self._done.done():
            self._done.set_result(ok)

    def _fail_all(self) -> None:
        if not self._upgraded.done():
            self._upgraded.set_result(False)
        if self._done is not None and not self._done.done():
            self.tally.errors += 1
            self._done.set_result(False)


class TcpConnection(_Base):
    """One Continuum TCP connection; ``answer`` may run 100 times at once on it."""

    def __init__(self, tally: Tally, key: str, body: bytes):
        super().__init__(tally)
        self.hello = HEADER.pack(len(hello := orjson.dumps({"key": key})), FrameType.HELLO, 0, 0)
        self.hello += hello
        self.body = body
        self._buffer = bytearray()
        self._welcome: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        self._preface = True
        self._next_id = 1
        self._open: dict[int, tuple[asyncio.Future[bool], float, list[int]]] = {}
        self._owed = 0
        self._threshold = 1
        self._request_threshold = 1

    async def open(self) -> None:
        assert self.transport is not None
        self.transport.write(PREFACE + self.hello)
        welcome = await self._welcome
        self._threshold = welcome["initial_connection_window"] // 2
        self._request_threshold = welcome["initial_request_window"] // 2

    async def answer(self) -> bool:
        assert self.transport is not None
        request_id = self._next_id
        self._next_id += 1
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        # [timed, owed request credit]
        self._open[request_id] = (done, time.perf_counter(), [0, 0])
        self.transport.write(
            HEADER.pack(len(self.body), FrameType.REQUEST, 0, request_id) + self.body
        )
        return await done

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        at = 0
        if self._preface:
            if len(buffer) < len(PREFACE):
                return
            self._preface, at = False, len(PREFACE)
        size = len(buffer)
        tally = self.tally
        unpack = HEADER.unpack_from
        requests = self._open
        transport = self.transport
        assert transport is not None
        updates = []
        while size - at >= 10:
            length, kind, _, request_id = unpack(buffer, at)
            end = at + 10 + length
            if end > size:
                break
            if kind == 4:  # TEXT
                tally.chunks += 1
                self._owed += length
                entry = requests.get(request_id)
                if entry is not None:
                    state = entry[2]
                    if not state[0]:
                        state[0] = 1
                        tally.first_chunk.append(time.perf_counter() - entry[1])
                    state[1] += length
                    if state[1] >= self._request_threshold:
                        updates.append(HEADER.pack(4, 9, 0, request_id) + _U32.pack(state[1]))
                        state[1] = 0
            elif kind == 6 or kind == 7:  # DONE / ERROR
                entry = requests.pop(request_id, None)
                if entry is not None:
                    ok = kind == 6
                    tally.answers += ok
                    tally.errors += not ok
                    entry[0].set_result(ok)
                elif request_id == 0:
                    tally.errors += 1
            elif kind == 2:  # WELCOME
                self._welcome.set_result(orjson.loads(bytes(buffer[at + 10 : end])))
            elif kind == 10:  # PING
                updates.append(HEADER.pack(8, 11, 0, 0) + bytes(buffer[at + 10 : end]))
            at = end
        del buffer[:at]
        if self._owed >= self._threshold:
            updates.append(HEADER.pack(4, 9, 0, 0) + _U32.pack(self._owed))
            self._owed = 0
        if updates:
            transport.write(b"".join(updates))

    def _fail_all(self) -> None:
        if not self._welcome.done():
            self._welcome.set_exception(ConnectionError("closed before WELCOME"))
        for done, _, _ in self._open.values():
            if not done.done():
                self.tally.errors += 1
                done.set_result(False)
        self._open.clear()


def http_request(host: str, port: int, key: str, body: bytes) -> bytes:
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body

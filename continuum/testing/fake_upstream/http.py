"""A small, fast HTTP/1.1 server on ``asyncio.Protocol`` + ``httptools``.

Not Starlette on purpose: a benchmark drives the gateway against these fakes and the
fake must not be the bottleneck (tens of thousands of requests per second per core).
Answers that need no pacing are written with one ``transport.write``; answers with
faults (latency, per-chunk delay, drop, malformed chunk, drip) run in a task that is
cancelled the moment the peer goes away, which the recorder notes with a timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast

import httptools
import orjson

from continuum.testing.fake_upstream.faults import Fault
from continuum.testing.fake_upstream.record import Recorder, SeenConnection, SeenRequest


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer. ``frames`` makes it streamed: one frame per content chunk, then ``tail``."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    frames: Sequence[bytes] | None = None
    tail: bytes = b""
    malformed: bytes = b"data: {not json\n\n"
    # Valid JSON of the wrong shape: what a buggy compatible server might send.
    wrong_shape: bytes = b'data: {"choices":[1]}\n\n'
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, payload: Any, status: int = 200, **kwargs: Any) -> Reply:
        return cls(status=status, body=orjson.dumps(payload), **kwargs)


Handler = Callable[[SeenRequest, Fault], Reply]


def _head(reply: Reply, keep_alive: bool, length: int | None) -> bytes:
    reason = (
        HTTPStatus(reply.status).phrase if reply.status in HTTPStatus._value2member_map_ else ""
    )
    lines = [f"HTTP/1.1 {reply.status} {reason}", f"content-type: {reply.content_type}"]
    lines.append(
        f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    )
    if not keep_alive:
        lines.append("connection: close")
    lines.extend(f"{k}: {v}" for k, v in reply.headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


@dataclass(slots=True)
class _Pending:
    request: SeenRequest
    keep_alive: bool


@dataclass(slots=True)
class _Parsing:
    url: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    body: list[bytes] = field(default_factory=list)


class _Connection(asyncio.Protocol):
    def __init__(self, app: HttpApp):
        self._app = app
        self._parser = httptools.HttpRequestParser(self)
        self._parsing = _Parsing()
        self._queue: deque[_Pending] = deque()
        self._task: asyncio.Task[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._seen: SeenConnection | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are no subclass of asyncio.Transport but behave as one.
        live = cast(asyncio.Transport, transport)
        self._transport = live
        self._seen = self._app.recorder.opened()
        self._app.live.add(live)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        busy = self._task is not None and not self._task.done()
        if busy and self._task is not None:
            self._task.cancel()
        if self._seen is not None:
            self._app.recorder.closed(self._seen, mid_stream=busy)
        if self._transport is not None:
            self._app.live.discard(self._transport)
        self._transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._parsing = _Parsing()

    def on_url(self, url: bytes) -> None:
        self._parsing.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsing.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._parsing.body.append(body)

    def on_message_complete(self) -> None:
        parsing = self._parsing
        path = parsing.url.split(b"?", 1)[0].decode("latin-1")
        assert self._seen is not None
        request = SeenRequest(
            self._seen.id,
            self._parser.get_method().decode("latin-1"),
            path,
            parsing.headers,
            b"".join(parsing.body),
        )
        self._app.recorder.request(request)
        self._queue.append(_Pending(request, self._parser.should_keep_alive()))
        if self._task is None or self._task.done():
            self._drain()

    # answering
    def _drain(self) -> None:
        while self._queue and self._transport is not None:
            pending = self._queue.popleft()
            reply, fault = self._app.answer(pending.request)
            if fault.slow:
                self._task = asyncio.get_running_loop().create_task(
                    self._slow(reply, fault, pending.keep_alive)
                )
                return
            self._write_fast(reply, pending.keep_alive)

    def _write_fast(self, reply: Reply, keep_alive: bool) -> None:
        assert self._transport is not None
        if reply.frames is None:
            self._transport.write(_head(reply, keep_alive, len(reply.body)) + reply.body)
        else:
            data = b"".join(reply.frames) + reply.tail
            self._transport.write(_head(reply, keep_alive, None) + _chunk(data) + b"0\r\n\r\n")
        if not keep_alive:
            self._transport.close()

    async def _emit(self, data: bytes, drip: float | None) -> None:
        if self._transport is None:
            raise asyncio.CancelledError
        if not drip:
            self._transport.write(data)
            return
        for index in range(len(data)):
            if self._transport is None:
                raise asyncio.CancelledError
            self._transport.write(data[index : index + 1])
            await asyncio.sleep(drip)

    async def _slow(self, reply: Reply, fault: Fault, keep_alive: bool) -> None:
        transport = self._transport
        assert transport is not None
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if reply.frames is None:
            if fault.drop_after is not None:
                transport.close()  # no answer at all: the client sees a dropped connection
                return
            await self._emit(_head(reply, keep_alive, len(reply.body)) + reply.body, fault.drip)
        else:
            await self._emit(_head(reply, keep_alive, None), fault.drip)
            for index, frame in enumerate(reply.frames):
                if fault.drop_after is not None and index >= fault.drop_after:
                    transport.close()
                    return
                if fault.malformed_after is not None and index == fault.malformed_after:
                    await self._emit(_chunk(reply.malformed), fault.drip)
                if fault.wrong_shape_after is not None and index == fault.wrong_shape_after:
                    await self._emit(_chunk(reply.wrong_shape), fault.drip)
                if fault.chunk_delay:
                    await asyncio.sleep(fault.chunk_delay)
                await self._emit(_chunk(frame), fault.drip)
            await self._emit(_chunk(reply.tail) + b"0\r\n\r\n", fault.drip)
        if not keep_alive:
            transport.close()
            return
        self._task = None
        self._drain()


class HttpApp:
    """What a flavour of fake plugs into the server: routing, faults, recording."""

    recorder: Recorder
    live: set[asyncio.Transport]

    def answer(self, request: SeenRequest) -> tuple[Reply, Fault]:
        raise NotImplementedError


async def start_server(app: HttpApp, host: str, port: int) -> asyncio.Server:
    """Listen on ``host:port`` (0 picks a free port) and serve ``app``."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(app), host, port, reuse_address=True)
    return server


def bound_port(server: asyncio.Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


async def close_server(server: asyncio.Server, app: HttpApp) -> None:
    server.close()
    for transport in list(app.live):
        transport.close()  # idle keep-alive connections would hold wait_closed() open
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(server.wait_closed(), 1.0)

"""The server against raw bytes on a real socket: every bad input gets an ERROR frame
and/or a closed connection, and a healthy connection beside it is served throughout."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import orjson
import pytest

from continuum.client import TcpClient
from continuum.doors.tcp.codec import encode_window_update
from continuum.doors.tcp.frames import FLAG_MORE, HEADER, MAGIC, MAX_WINDOW, PREFACE, FrameType
from continuum.doors.tcp.payloads import Done, ErrorInfo, GoAway, Hello
from continuum.doors.tcp.server import TcpServer
from tests.doors.tcp.conftest import StartServer, until
from tests.doors.tcp.handlers import KEY, ScriptedHandler, body, direct_text
from tests.doors.tcp.raw import Raw

STALL = orjson.dumps(body("x") | {"model": "stall"})


@pytest.fixture
async def healthy(server: TcpServer) -> AsyncIterator[TcpClient]:
    """A well-behaved client that must keep being served whatever the others do."""
    client = await TcpClient.connect("127.0.0.1", server.port, KEY)
    yield client
    request = body("Are you still serving?")
    assert await client.stream(request).text() == await direct_text(request)
    await client.close()


BAD_BEFORE_AUTH = [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad_magic", 400),
    (MAGIC + struct.pack(">HH", 2, 0), "unsupported_version", 505),
    (PREFACE + HEADER.pack(2, FrameType.REQUEST, 0, 1) + b"{}", "protocol_error", 400),
    (PREFACE + HEADER.pack(5, FrameType.HELLO, 0, 0) + b"nope!", "protocol_error", 400),
    (PREFACE + HEADER.pack(2, FrameType.HELLO, 0, 9) + b"{}", "protocol_error", 400),
    (PREFACE + HEADER.pack(20_000, FrameType.HELLO, 0, 0), "frame_too_large", 413),
    (PREFACE + HEADER.pack(0, 77, 0, 0), "unknown_frame_type", 400),
    (PREFACE + Hello("wrong-key").encode(), "invalid_api_key", 401),
]


@pytest.mark.parametrize(("data", "code", "status"), BAD_BEFORE_AUTH)
async def test_bad_handshakes(
    server: TcpServer, healthy: TcpClient, data: bytes, code: str, status: int
) -> None:
    raw = await Raw.open(server.port)
    raw.send(data)
    error = await raw.connection_error()
    assert (error.code, error.status) == (code, status)


async def test_requests_pipelined_behind_a_wrong_key_are_dropped(
    server: TcpServer, handler: ScriptedHandler
) -> None:
    raw = await Raw.open(server.port)
    raw.send(PREFACE + Hello("wrong").encode() + HEADER.pack(len(STALL), 3, 0, 1) + STALL)
    frames = await raw.until_closed()
    assert [f.type for f in frames] == [FrameType.ERROR]
    assert handler.records == []


async def test_requests_pipelined_behind_hello_are_served(server: TcpServer) -> None:
    raw = await Raw.open(server.port)
    request = orjson.dumps(body("pipelined"))
    raw.send(PREFACE + Hello(KEY).encode() + HEADER.pack(len(request), 3, 0, 1) + request)
    assert (await raw.next()).type == FrameType.WELCOME
    text = ""
    while (frame := await raw.next()).type == FrameType.TEXT:
        text += frame.payload[2:].decode()
    assert frame.type == FrameType.DONE
    assert text == await direct_text(body("pipelined"))


async def test_silent_connection_is_closed_after_the_handshake_timeout(
    start_server: StartServer,
) -> None:
    server = await start_server(handshake_timeout=0.2)
    silent = await Raw.open(server.port)
    trickle = await Raw.open(server.port)
    trickle.send(PREFACE[:3])  # a valid start, never finished
    for raw in (silent, trickle):
        error = await raw.connection_error()
        assert (error.status, error.code) == (408, "handshake_timeout")


BAD_AFTER_AUTH = [
    (HEADER.pack((1 << 32) - 1, FrameType.REQUEST, 0, 1), "frame_too_large"),
    (HEADER.pack(16_385, FrameType.REQUEST, 0, 1), "frame_too_large"),
    (HEADER.pack(0, 200, 0, 1), "unknown_frame_type"),
    (HEADER.pack(2, FrameType.REQUEST, 0, 0) + b"{}", "protocol_error"),
    (HEADER.pack(0, FrameType.CANCEL, 0, 0), "protocol_error"),
    (HEADER.pack(8, FrameType.PING, 0, 4) + b"12345678", "protocol_error"),
    (HEADER.pack(3, FrameType.PING, 0, 0) + b"123", "protocol_error"),
    (HEADER.pack(4, FrameType.TEXT, 0, 1) + b"\x00\x00hi", "protocol_error"),
    (HEADER.pack(2, FrameType.HELLO, 0, 0) + b"{}", "protocol_error"),
    (encode_window_update(0, 0), "flow_control_error"),
    (encode_window_update(0, MAX_WINDOW), "flow_control_error"),
    (HEADER.pack(3, FrameType.WINDOW_UPDATE, 0, 0) + b"abc", "protocol_error"),
]


@pytest.mark.parametrize(("data", "code"), BAD_AFTER_AUTH)
async def test_bad_frames_after_auth(
    server: TcpServer, healthy: TcpClient, data: bytes, code: str
) -> None:
    raw = await Raw.authenticated(server.port)
    raw.send(data)
    error = await raw.connection_error()
    assert error.code == code


async def test_open_requests_are_closed_with_their_connection(
    server: TcpServer, handler: ScriptedHandler
) -> None:
    raw = await Raw.authenticated(server.port)
    raw.frame(FrameType.REQUEST, 1, STALL)
    assert (await raw.next()).type == FrameType.TEXT
    raw.send(HEADER.pack(0, 99, 0, 0))
    await raw.connection_error()
    async with asyncio.timeout(1):
        await handler.records[-1].closed.wait()


async def test_frames_for_closed_ids_are_ignored(server: TcpServer) -> None:
    raw = await Raw.authenticated(server.port)
    request = orjson.dumps(body("ids"))
    raw.frame(FrameType.REQUEST, 5, request)
    raw.frame(FrameType.REQUEST, 3, request)  # lower than 5: ignored
    raw.frame(FrameType.CANCEL, 4)  # never opened: ignored
    raw.send(encode_window_update(9, 100))  # not open: ignored
    raw.frame(FrameType.PING, 0, b"probe---")
    seen = []
    while True:
        frame = await raw.next()
        seen.append((frame.type, frame.request_id))
        if frame.type == FrameType.DONE:
            break
    assert (FrameType.PONG, 0) in seen
    assert {rid for _, rid in seen} == {0, 5}
    raw.frame(FrameType.PING, 0, b"again---")
    assert (await raw.next()).type == FrameType.PONG


async def test_105_requests_on_a_limit_of_100(server: TcpServer, healthy: TcpClient) -> None:
    raw = await Raw.authenticated(server.port)
    raw.send(b"".join(HEADER.pack(len(STALL), 3, 0, i) + STALL for i in range(1, 106)))
    first_text: set[int] = set()
    refused: dict[int, ErrorInfo] = {}
    while len(first_text) + len(refused) < 105:
        frame = await raw.next()
        if frame.type == FrameType.TEXT:
            first_text.add(frame.request_id)
        else:
            assert frame.type == FrameType.ERROR
            refused[frame.request_id] = ErrorInfo.decode(frame.payload)
    assert first_text == set(range(1, 101))
    assert sorted(refused) == [101, 102, 103, 104, 105]
    assert {(e.status, e.code) for e in refused.values()} == {(429, "too_many_concurrent_requests")}
    # Cancel them all: each gets exactly one terminal frame, and the connection lives.
    raw.send(b"".join(HEADER.pack(0, FrameType.CANCEL, 0, i) for i in range(1, 101)))
    cancelled = set()
    while len(cancelled) < 100:
        frame = await raw.next()
        assert frame.type == FrameType.ERROR
        assert ErrorInfo.decode(frame.payload).code == "cancelled"
        cancelled.add(frame.request_id)
    assert cancelled == set(range(1, 101))
    raw.frame(FrameType.PING, 0, b"12345678")
    assert (await raw.next()).type == FrameType.PONG


async def test_fragmented_body_cancel_and_late_pieces(server: TcpServer) -> None:
    raw = await Raw.authenticated(server.port)
    raw.frame(FrameType.REQUEST, 1, b'{"model":', FLAG_MORE)
    raw.frame(FrameType.CANCEL, 1)
    raw.frame(FrameType.REQUEST, 1, b'"local-text"}')  # the rest, after the cancel: ignored
    frame = await raw.next()
    assert (frame.type, frame.request_id) == (FrameType.ERROR, 1)
    assert ErrorInfo.decode(frame.payload).code == "cancelled"
    request = orjson.dumps(body("fragments"))
    raw.frame(FrameType.REQUEST, 2, request[:10], FLAG_MORE)
    raw.frame(FrameType.REQUEST, 2, request[10:20], FLAG_MORE)
    raw.frame(FrameType.REQUEST, 2, request[20:])
    text = ""
    while (frame := await raw.next()).type == FrameType.TEXT:
        assert frame.request_id == 2
        text += frame.payload[2:].decode()
    assert frame.type == FrameType.DONE and frame.request_id == 2
    assert text == await direct_text(body("fragments"))


async def test_bodies_still_arriving_are_capped_per_connection(start_server: StartServer) -> None:
    server = await start_server(max_partial_request_bytes=20_000)
    raw = await Raw.authenticated(server.port)
    request = orjson.dumps(body("z" * 14_000))
    raw.frame(FrameType.REQUEST, 1, request[:12_000], FLAG_MORE)
    raw.frame(FrameType.REQUEST, 2, request[:12_000], FLAG_MORE)  # 24 kB arriving: refused
    frame = await raw.next()
    assert (frame.type, frame.request_id) == (FrameType.ERROR, 2)
    assert ErrorInfo.decode(frame.payload).status == 413
    raw.frame(FrameType.REQUEST, 2, request[12_000:])  # ignored: 2 is closed
    raw.frame(FrameType.REQUEST, 1, request[12_000:])
    frames = []
    while (frame := await raw.next()).type != FrameType.DONE:
        frames.append(frame)
    assert frame.request_id == 1
    assert {f.request_id for f in frames} == {1}


async def test_request_after_goaway_is_refused_as_going_away(
    start_server: StartServer, handler: ScriptedHandler
) -> None:
    server = await start_server()
    raw = await Raw.authenticated(server.port)
    raw.frame(FrameType.REQUEST, 1, STALL)
    assert (await raw.next()).type == FrameType.TEXT
    closing = asyncio.create_task(server.close(drain_timeout=10))
    goaway = await raw.next()
    assert goaway.type == FrameType.GOAWAY
    assert GoAway.decode(goaway.payload).last_request_id == 1
    raw.frame(FrameType.REQUEST, 2, STALL)
    refused = await raw.next()
    assert (refused.type, refused.request_id) == (FrameType.ERROR, 2)
    assert ErrorInfo.decode(refused.payload).code == "going_away"
    handler.release.set()
    rest = await raw.until_closed()
    assert [(f.type, f.request_id) for f in rest][-1] == (FrameType.DONE, 1)
    assert Done.decode(rest[-1].payload).finish_reasons == ("stop",)
    await asyncio.wait_for(closing, 5)


async def test_unanswered_pings_close_the_connection(start_server: StartServer) -> None:
    server = await start_server(ping_interval=0.05)
    raw = await Raw.authenticated(server.port)
    frames = await raw.until_closed()
    assert [f.type for f in frames] == [FrameType.PING, FrameType.PING, FrameType.ERROR]
    last = frames[-1]
    assert (last.type, ErrorInfo.decode(last.payload).code) == (FrameType.ERROR, "ping_timeout")


async def test_slow_consumer_is_cut_off(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server(max_buffered_bytes=64 * 1024)
    healthy = await TcpClient.connect("127.0.0.1", server.port, KEY)
    raw = await Raw.open(server.port, receive_buffer=4096)
    raw.send(PREFACE + Hello(KEY).encode())
    assert (await raw.next()).type == FrameType.WELCOME
    ping = HEADER.pack(8, FrameType.PING, 0, 0) + b"flooding"
    # Pings whose PONGs we never read: far more than the kernel buffers and the cap hold.
    for _ in range(40):
        if raw.writer.is_closing():
            break
        raw.send(ping * 20_000)
        try:
            await asyncio.wait_for(raw.writer.drain(), 5)
        except (ConnectionResetError, BrokenPipeError):
            break
        if len(server.stats()) == 1:
            break
    assert len(server.stats()) == 1  # only the healthy one is left
    assert any("slow consumer" in record.getMessage() for record in caplog.records)
    assert await healthy.ping() > 0
    request = body("still fine")
    assert await healthy.stream(request).text() == await direct_text(request)
    await healthy.close()


async def test_huge_credit_and_no_reading_is_held_by_the_socket(
    start_server: StartServer, handler: ScriptedHandler
) -> None:
    """A client may grant all the credit there is and read nothing: the server stops
    pulling from the generator once the socket is full, and the loop keeps serving."""
    server = await start_server()
    healthy = await TcpClient.connect("127.0.0.1", server.port, KEY)
    raw = await Raw.open(server.port, receive_buffer=4096)
    raw.send(PREFACE + Hello(KEY, "greedy").encode())
    assert (await raw.next()).type == FrameType.WELCOME
    endless = orjson.dumps(body("x") | {"model": "endless"})
    raw.send(encode_window_update(0, MAX_WINDOW - server.limits.initial_connection_window))
    raw.frame(FrameType.REQUEST, 1, endless)
    raw.send(encode_window_update(1, MAX_WINDOW - server.limits.initial_request_window))
    stats = next(s for s in server.stats() if s.client == "greedy")
    await until(lambda: stats.write_paused)
    record = handler.records[-1]
    pulled = record.pulled
    for _ in range(5):
        assert await healthy.ping() < 1  # the loop is not held by the endless generator
    assert record.pulled == pulled
    assert stats.peak_buffered_bytes <= 256 * 1024
    request = body("beside a greedy one")
    assert await healthy.stream(request).text() == await direct_text(request)
    await healthy.close()


class BrokenKeyCheck(ScriptedHandler):
    async def authenticate(self, key: str, client: str | None) -> object:
        raise RuntimeError("the key store is broken")


class SlowKeyCheck(ScriptedHandler):
    async def authenticate(self, key: str, client: str | None) -> object:
        await asyncio.Event().wait()  # never answers
        return None


async def test_a_failing_key_check_is_a_500_and_a_close(server: TcpServer) -> None:
    server.handler = BrokenKeyCheck()
    raw = await Raw.open(server.port)
    raw.send(PREFACE + Hello(KEY).encode())
    error = await raw.connection_error()
    assert (error.status, error.code) == (500, "internal_error")


async def test_a_key_check_that_never_answers_hits_the_handshake_timeout(
    start_server: StartServer,
) -> None:
    server = await start_server(handshake_timeout=0.1)
    server.handler = SlowKeyCheck()
    raw = await Raw.open(server.port)
    raw.send(PREFACE + Hello(KEY).encode())
    error = await raw.connection_error()
    assert (error.status, error.code) == (408, "handshake_timeout")


async def test_shutdown_closes_connections_still_in_their_handshake(
    start_server: StartServer,
) -> None:
    server = await start_server()
    raw = await Raw.open(server.port)
    raw.send(PREFACE)
    await until(lambda: len(server.stats()) == 1)
    await server.close(drain_timeout=1)
    error = await raw.connection_error()
    assert (error.status, error.code) == (503, "shutting_down")

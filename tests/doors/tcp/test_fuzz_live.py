"""Hypothesis against a LIVE server: arbitrary, truncated, oversized and unauthenticated
byte streams each get an ERROR frame or a closed connection (never a hang or a crash),
while a healthy authenticated connection beside them keeps being served."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from continuum.client import TcpClient
from continuum.doors.tcp.codec import FrameDecoder
from continuum.doors.tcp.frames import HEADER, PREFACE, FrameType
from continuum.doors.tcp.limits import TcpLimits
from continuum.doors.tcp.payloads import Hello
from continuum.doors.tcp.server import TcpServer
from tests.doors.tcp.handlers import KEY, LocalHandler, body, direct_text

T = TypeVar("T")


@dataclass
class Live:
    port: int
    loop: asyncio.AbstractEventLoop
    server: TcpServer
    healthy: TcpClient

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """A server in its own thread and loop, so that hypothesis drives it with plain sockets."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(10)

    async def make_server() -> TcpServer:
        # Short timers so that a connection left waiting for bytes ends quickly.
        limits = TcpLimits(handshake_timeout=0.3, ping_interval=0.1)
        return TcpServer(LocalHandler(), "127.0.0.1", 0, limits)

    server = call(make_server())
    call(server.start())
    healthy = call(TcpClient.connect("127.0.0.1", server.port, KEY))
    yield Live(server.port, loop, server, healthy)
    call(healthy.close())
    call(server.close(drain_timeout=1))
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def exchange(port: int, data: bytes) -> tuple[bytes, bool]:
    """Send ``data``, then read until the server closes: (what it sent, closed?)."""
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        # The server may close while we are still sending: that is an answer too.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            return bytes(received), False
    return bytes(received), True


def check_answer(received: bytes) -> None:
    """The server's bytes are a well-formed preface and frames; an ERROR on request id 0,
    if any, is the last frame (a connection error ends the connection)."""
    decoder = FrameDecoder(versions=None, max_frame_size=1 << 20)
    decoder.feed(received)
    frames = decoder.frames()
    assert received[: len(PREFACE)] == PREFACE[: len(received)]
    for i, frame in enumerate(frames):
        if frame.type == FrameType.ERROR and frame.request_id == 0:
            assert i == len(frames) - 1, frames


def shaped(types: st.SearchStrategy[int]) -> st.SearchStrategy[bytes]:
    """Frames with well-formed headers (sometimes lying about their length)."""
    frame = st.tuples(
        types, st.integers(0, 255), st.integers(0, 6), st.binary(max_size=80), st.integers(-3, 3)
    ).map(lambda f: HEADER.pack(max(0, len(f[3]) + f[4]), f[0], f[1], f[2]) + f[3])
    return st.lists(frame, max_size=6).map(b"".join)


requests = st.builds(
    lambda rid, prompt, cut: (
        (HEADER.pack(len(b), 3, 0, rid) + b)[: cut or None]
        if (b := orjson.dumps(body(prompt)))
        else b""
    ),
    st.integers(1, 6),
    st.text(max_size=30),
    st.integers(0, 60),
)
HELLO = PREFACE + Hello(KEY).encode()

inputs = st.one_of(
    st.binary(max_size=200),  # garbage
    st.binary(max_size=200).map(lambda b: PREFACE + b),  # a good preface, then garbage
    shaped(st.integers(0, 15)).map(lambda b: PREFACE + b),  # frames before HELLO
    st.binary(max_size=120).map(lambda b: PREFACE + HEADER.pack(len(b), 1, 0, 0) + b),
    st.text(max_size=20).map(lambda k: PREFACE + Hello(k).encode()),  # wrong keys
    st.integers(0, len(HELLO)).map(lambda n: HELLO[:n]),  # a truncated handshake
    shaped(st.integers(0, 15)).map(lambda b: HELLO + b),  # frames after auth
    st.lists(requests, max_size=4).map(lambda r: HELLO + b"".join(r)),  # requests, cut anywhere
    st.integers(16_385, (1 << 32) - 1).map(lambda n: HELLO + HEADER.pack(n, 3, 0, 1)),  # oversized
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(inputs)
def test_any_input_gets_an_error_or_a_close_and_the_healthy_connection_is_served(
    live: Live, data: bytes
) -> None:
    received, closed = exchange(live.port, data)
    assert closed, "the server left a bad connection open"
    check_answer(received)
    assert live.call(live.healthy.ping()) < 1


def test_healthy_connection_streams_exactly_after_the_fuzzing(live: Live) -> None:
    requests = [body(f"after fuzz {i}") for i in range(5)]

    async def run() -> list[str]:
        return list(await asyncio.gather(*(live.healthy.stream(r).text() for r in requests)))

    expected = [asyncio.run(direct_text(r)) for r in requests]
    assert live.call(run()) == expected
    assert live.call(live.healthy.ping()) < 1

"""The streaming response stops its producer as soon as the client disconnects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from continuum.dialects.streams.events import event_frame
from continuum.doors.http.sse import FLUSH_BYTES, Coalesce, EventStreamResponse


async def test_disconnect_cancels_a_stalled_producer_at_once() -> None:
    closed_at: list[float] = []
    sent: list[dict] = []

    async def slow_body() -> AsyncIterator[bytes]:
        try:
            yield b"data: first\n\n"
            await asyncio.sleep(30)  # an upstream that has gone quiet
            yield b"data: never\n\n"
        finally:
            closed_at.append(time.perf_counter())

    disconnect = asyncio.Event()

    async def receive() -> dict:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    task = asyncio.create_task(
        EventStreamResponse(slow_body(), framing=None)({"type": "http"}, receive, send)
    )
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    disconnect.set()
    await asyncio.wait_for(task, 2)
    assert closed_at and closed_at[0] - started < 0.1
    assert [m.get("body") for m in sent if m["type"] == "http.response.body"] == [
        b"data: first\n\n"
    ]


async def test_complete_stream_ends_the_body_and_closes() -> None:
    sent: list[dict] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    async def receive() -> dict:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await EventStreamResponse(body(), {"X-Request-Id": "r1"}, framing=None)(
        {"type": "http"}, receive, send
    )
    assert sent[0]["status"] == 200 and (b"x-request-id", b"r1") in sent[0]["headers"]
    # Both chunks were ready at once: one write, which also ends the body.
    assert [m["body"] for m in sent[1:]] == [b"ab"]
    assert sent[-1]["more_body"] is False


async def test_client_gone_mid_write_is_not_an_error() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"a"

    async def receive() -> dict:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            raise OSError("connection reset")

    await EventStreamResponse(body(), framing=None)({"type": "http"}, receive, send)


async def _never_disconnects() -> dict:
    await asyncio.sleep(30)
    return {"type": "http.disconnect"}


async def test_each_chunk_is_written_before_the_producer_waits() -> None:
    """Coalescing never holds a chunk back while the producer waits for the next."""
    log: list[str] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"1"
        yield b"2"
        log.append("waiting")
        await asyncio.sleep(0.01)  # the upstream is slow: 1 and 2 must be out by now
        yield b"3"
        log.append("waiting")
        await asyncio.sleep(0)
        yield b"4"

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            log.append(f"send {message['body'].decode()} {message['more_body']}")

    await EventStreamResponse(body(), framing=None)({"type": "http"}, _never_disconnects, send)
    assert log == ["waiting", "send 12 True", "waiting", "send 3 True", "send 4 False"]


async def test_a_long_burst_is_written_in_bounded_pieces() -> None:
    piece = b"x" * 1000
    count = 3 * FLUSH_BYTES // len(piece)
    sizes: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield piece

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            sizes.append(len(message["body"]))

    await EventStreamResponse(body(), framing=None)({"type": "http"}, _never_disconnects, send)
    assert sum(sizes) == count * len(piece)
    assert max(sizes) < FLUSH_BYTES + len(piece) and len(sizes) >= 3


async def test_disconnect_while_a_write_is_blocked_closes_the_producer() -> None:
    """A client that stops reading (write paused) and then leaves still ends the stream."""
    closed = asyncio.Event()
    stuck = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"data: a\n\n"
            await asyncio.sleep(30)
            yield b"data: b\n\n"
        finally:
            closed.set()

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            stuck.set()
            await asyncio.sleep(30)  # flow control: the socket buffer is full

    async def receive() -> dict:
        await stuck.wait()
        return {"type": "http.disconnect"}

    await asyncio.wait_for(
        EventStreamResponse(body(), framing=None)({"type": "http"}, receive, send), 2
    )
    assert closed.is_set()


async def _body_of(*steps: bytes | float | Exception) -> AsyncIterator[bytes]:
    for step in steps:
        if isinstance(step, bytes):
            yield step
        elif isinstance(step, Exception):
            raise step
        else:
            await asyncio.sleep(step)


async def test_coalesce_gathers_ready_chunks_and_returns_the_tail() -> None:
    writes: list[bytes] = []

    async def write(data: bytes) -> None:
        writes.append(data)

    tail = await Coalesce(_body_of(b"a", b"b", 0.0, b"c", b"d"), write)
    assert writes == [b"ab"]  # written when the body was about to wait
    assert tail == b"cd"  # still gathered when it ended: the caller's final write
    assert await Coalesce(_body_of(), write) == b""


async def test_coalesce_passes_errors_and_cancellation_through() -> None:
    async def write(data: bytes) -> None:
        return None

    with pytest.raises(ValueError, match="upstream broke"):
        await Coalesce(_body_of(b"a", 0.0, ValueError("upstream broke")), write)

    cleaned = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        try:
            yield b"a"
            await asyncio.sleep(30)
            yield b"b"
        finally:
            cleaned.set()

    body = slow()
    task = asyncio.ensure_future(Coalesce(body, write))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await body.aclose()
    assert cleaned.is_set()


async def test_payloads_are_framed_as_data_events_in_the_coalescing_join() -> None:
    sent: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        yield b'{"a":1}'
        yield b"[DONE]"

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            sent.append(message["body"])

    await EventStreamResponse(body())({"type": "http"}, _never_disconnects, send)
    assert b"".join(sent) == b'data: {"a":1}\n\ndata: [DONE]\n\n'


def test_event_frames_keep_newlines_as_several_data_lines() -> None:
    frame = event_frame("one\ntwo\r\nthree", event="piece", id="e1-4")
    assert frame == b"event: piece\nid: e1-4\ndata: one\ndata: two\ndata: three\n\n"
    assert event_frame("") == b"data: \n\n"

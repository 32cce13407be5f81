"""The streaming response stops its producer as soon as the client disconnects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from continuum.doors.http.sse import EventStreamResponse


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

    task = asyncio.create_task(EventStreamResponse(slow_body())({"type": "http"}, receive, send))
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

    await EventStreamResponse(body(), {"X-Request-Id": "r1"})({"type": "http"}, receive, send)
    assert sent[0]["status"] == 200 and (b"x-request-id", b"r1") in sent[0]["headers"]
    assert [m["body"] for m in sent[1:]] == [b"a", b"b", b""]
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

    await EventStreamResponse(body())({"type": "http"}, receive, send)

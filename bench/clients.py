"""Small purpose-built HTTP/1.1 clients for what ``wrk`` cannot see.

* ``first_chunks``: one kept-alive connection, one streaming request at a time, timing
  the first ``data:`` line (time to first chunk) and the whole answer. A blocking
  socket keeps the client's own overhead small and the same for every target, so the
  difference between a gateway and the direct path is the gateway's.
* ``hold_streams``: thousands of concurrent slow streams from one asyncio process,
  held open while the gateway's memory is read, then dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

TERMINATOR = b"\r\n0\r\n\r\n"


def request_bytes(host: str, port: int, path: str, body: bytes, key: str | None) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Accept: text/event-stream\r\n"
    )
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    return head.encode() + b"\r\n" + body


def _complete(buffer: bytes) -> tuple[bool, bool]:
    """(answer complete, connection must close) for one buffered HTTP response."""
    head, sep, body = buffer.partition(b"\r\n\r\n")
    if not sep:
        return False, False
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        return body.endswith(TERMINATOR) or body == b"0\r\n\r\n", False
    for line in lower.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1]), False
    return False, True  # read until close


def dechunk(body: bytes) -> bytes:
    """The payload of a ``Transfer-Encoding: chunked`` body."""
    out: list[bytes] = []
    at = 0
    while True:
        end = body.index(b"\r\n", at)
        size = int(body[at:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2 : end + 2 + size])
        at = end + 4 + size


def content_of(response: bytes) -> str:
    """The text of a whole streamed answer: every ``delta.content`` of its data lines."""
    head, _, body = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    text = []
    for line in body.split(b"\n"):
        if line.startswith(b"data: {"):
            for choice in orjson.loads(line[6:]).get("choices") or ():
                text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text)


@dataclass(frozen=True, slots=True)
class StreamTiming:
    ttfc_ms: list[float]
    total_ms: list[float]
    chunks: int  # data lines of one answer, [DONE] excluded
    errors: int
    content: str  # the text of the last answer

    @property
    def ttfc_p50(self) -> float:
        return statistics.median(self.ttfc_ms) if self.ttfc_ms else float("nan")

    @property
    def ttfc_p99(self) -> float:
        return _percentile(self.ttfc_ms, 99)

    @property
    def total_p50(self) -> float:
        return statistics.median(self.total_ms) if self.total_ms else float("nan")


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def first_chunks(
    port: int, path: str, body: bytes, key: str | None, *, count: int, max_seconds: float
) -> StreamTiming:
    """Time ``count`` streaming requests one after the other (stops at ``max_seconds``)."""
    request = request_bytes("127.0.0.1", port, path, body, key)
    ttfc: list[float] = []
    total: list[float] = []
    chunks, errors, content = 0, 0, ""
    last = b""
    sock: socket.socket | None = None
    deadline = time.monotonic() + max_seconds
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            started = time.perf_counter()
            sock.sendall(request)
            buffer = b""
            first: float | None = None
            close = False
            while True:
                data = sock.recv(262144)
                if not data:
                    close = True
                    break
                buffer += data
                if first is None and b"data: " in buffer:
                    first = time.perf_counter()
                done, close = _complete(buffer)
                if done:
                    break
            ended = time.perf_counter()
            ok = buffer.startswith(b"HTTP/1.1 200") and first is not None
            if ok and first is not None:
                ttfc.append((first - started) * 1000)
                total.append((ended - started) * 1000)
                chunks = buffer.count(b"data: ") - buffer.count(b"data: [DONE]")
                last = buffer
            else:
                errors += 1
            if close or not ok:
                sock.close()
                sock = None
    finally:
        if sock is not None:
            sock.close()
    if ttfc:
        content = content_of(last)
    return StreamTiming(ttfc, total, chunks, errors, content)


@dataclass(frozen=True, slots=True)
class HoldResult:
    wanted: int
    opened: int  # streams that got their first chunk
    errors: int
    open_seconds: float  # time until every stream had its first chunk (or gave up)


class _Tally:
    """Counts streams that have settled (first chunk seen, or failed) and wakes the waiter."""

    def __init__(self, count: int):
        self.count = count
        self.flowing = 0
        self.failed = 0
        self.all_settled = asyncio.Event()

    def settle(self, flowing: bool) -> None:
        if flowing:
            self.flowing += 1
        else:
            self.failed += 1
        if self.flowing + self.failed >= self.count:
            self.all_settled.set()


async def _one_stream(
    port: int, request: bytes, gate: asyncio.Semaphore, tally: _Tally, release: asyncio.Event
) -> bool:
    writer: asyncio.StreamWriter | None = None
    settled = False
    try:
        async with gate:  # bounds the connects in flight, not the streams held
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
        buffer = b""
        while b"data: " not in buffer:
            data = await reader.read(65536)
            if not data:
                return False
            buffer += data
        if not buffer.startswith(b"HTTP/1.1 200") or release.is_set():
            return False  # refused, or flowing only after the memory was read
        tally.settle(True)
        settled = True
        drain = asyncio.ensure_future(_drain(reader))
        await release.wait()
        # A stream that ended before the release was not held the whole time.
        ended_early = drain.done()
        drain.cancel()
        return not ended_early
    except OSError:
        return False
    finally:
        if not settled:
            tally.settle(False)
        if writer is not None:
            writer.close()


async def _drain(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(OSError):
        while await reader.read(65536):
            pass


async def hold_streams(
    port: int,
    path: str,
    body: bytes,
    key: str | None,
    *,
    count: int,
    open_timeout: float,
    while_held: Callable[[], None],
    connects_in_flight: int = 256,
) -> HoldResult:
    """Open ``count`` streams, call ``while_held`` once all are flowing, then drop them all."""
    request = request_bytes("127.0.0.1", port, path, body, key)
    gate = asyncio.Semaphore(connects_in_flight)
    release = asyncio.Event()
    tally = _Tally(count)
    started = time.perf_counter()
    tasks = [
        asyncio.ensure_future(_one_stream(port, request, gate, tally, release))
        for _ in range(count)
    ]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.all_settled.wait(), open_timeout)
    opened_seconds = time.perf_counter() - started
    opened = tally.flowing
    while_held()
    release.set()
    finished, stuck = await asyncio.wait(tasks, timeout=10)
    for task in stuck:
        task.cancel()
    held = sum(1 for t in finished if not t.cancelled() and t.exception() is None and t.result())
    return HoldResult(count, opened, count - held, opened_seconds)

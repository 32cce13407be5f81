"""Streams through the TCP door alone: the server in its own process, the shipped client
in this one.

    .venv/bin/python -m bench.tcp_stream [--seconds 5] [--concurrency 100] [--tokens 16]

The handler yields ``--tokens`` prepared text deltas per request (no model, no pipeline),
so the figures are the door's own ceiling: streams/s and chunks/s over one connection
with ``--concurrency`` requests in flight, and the median time to first token of
requests sent one at a time. The side-by-side SSE/WebSocket/TCP suite is separate.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import statistics
import time
from collections.abc import AsyncGenerator
from multiprocessing.connection import Connection

from continuum.client import TcpClient
from continuum.core.events import Event, Finish, TextDelta, Usage
from continuum.doors.tcp.server import TcpServer

WORDS = [" the", " gateway", " streams", " every", " token", " to", " a", " reader"]


class CannedHandler:
    """Every request gets the same prepared answer of ``tokens`` text deltas."""

    def __init__(self, tokens: int):
        self.events: list[Event] = [TextDelta(WORDS[i % len(WORDS)]) for i in range(tokens)]
        self.events += [Finish("stop"), Usage(10, tokens)]

    async def authenticate(self, key: str, client: str | None) -> object:
        return key

    async def stream(self, identity: object, body: bytes) -> AsyncGenerator[Event, None]:
        for event in self.events:
            yield event


def _serve(tokens: int, port_out: Connection) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        server = TcpServer(CannedHandler(tokens), "127.0.0.1", 0)
        await server.start()
        port_out.send(server.port)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _load(port: int, seconds: float, concurrency: int) -> tuple[int, int]:
    client = await TcpClient.connect("127.0.0.1", port, "bench")
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    deadline = time.perf_counter() + seconds
    streams = chunks = 0

    async def worker() -> None:
        nonlocal streams, chunks
        while time.perf_counter() < deadline:
            async for event in client.stream(body):
                if isinstance(event, TextDelta):
                    chunks += 1
            streams += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await client.close()
    return streams, chunks


async def _ttft(port: int, count: int) -> float:
    client = await TcpClient.connect("127.0.0.1", port, "bench")
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        stream = client.stream(body)
        await anext(stream)
        samples.append(time.perf_counter() - start)
        async for _ in stream:
            pass
    await client.close()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=16)
    args = parser.parse_args()
    receive, send = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=_serve, args=(args.tokens, send), daemon=True)
    server.start()
    port = receive.recv()
    try:
        ttft = asyncio.run(_ttft(port, 200))
        before = resource.getrusage(resource.RUSAGE_SELF)
        streams, chunks = asyncio.run(_load(port, args.seconds, args.concurrency))
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        server.terminate()
        server.join()
    print(
        f"TCP door, 1 connection, {args.concurrency} in flight, {args.tokens} tokens a stream: "
        f"{streams / args.seconds:,.0f} streams/s, {chunks / args.seconds:,.0f} chunks/s; "
        f"time to first token (one at a time) median {ttft * 1e6:,.0f} µs"
    )
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"the client (this process) used {cpu / args.seconds:.0%} of a core")


if __name__ == "__main__":
    main()

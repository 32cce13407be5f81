"""Durable stream sessions without HTTP: what the buffer itself costs.

    .venv/bin/python -m bench.sessions [--redis redis://127.0.0.1:6379/0]

* live: append → a waiting reader has the piece (median, p99), memory and Redis, the
  reader on the producer's replica and on another (its own client and subscriber);
* replay: ``read(after=cursor)`` → first entry of a 500-piece history (a reconnect);
* memory: bytes per ended session of 200 pieces (memory: tracemalloc; Redis:
  ``MEMORY USAGE`` of its keys);
* held: 1,000 running sessions with a waiting reader each on one replica: Redis
  connections in use, then one piece to each, time until every reader has it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
import tracemalloc
import uuid
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from continuum.sessions.memory import MemorySessionStore
from continuum.sessions.model import Piece, SessionSpec, Timings
from continuum.sessions.redis import RedisSessionStore

SPEC = SessionSpec(owner="bench", prompt="What is AI?", model="local-echo", max_tokens=4096)
PIECE = " tok"  # a typical streamed token


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"median {statistics.median(ms):.3f} ms, p99 {p99:.3f} ms (n={len(ms)})"


async def live(producer: Any, reader: Any, pieces: int = 400) -> list[float]:
    info = await producer.create(SPEC)
    await producer.try_start(info.id, "bench")
    sent: dict[int, float] = {}
    got: list[float] = []
    ready = asyncio.Event()

    async def read() -> None:
        stream = reader.read(info.id)
        ready.set()
        async for outcome in stream:
            if isinstance(outcome, Piece):
                got.append(time.perf_counter() - sent[outcome.cursor.offset])

    task = asyncio.create_task(read())
    await ready.wait()
    await asyncio.sleep(0.05)  # the reader has snapshotted and waits
    for offset in range(1, pieces + 1):
        sent[offset] = time.perf_counter()
        await producer.append(info.id, PIECE)
        await asyncio.sleep(0.002)  # a token every few ms, like a model
    await producer.complete(info.id, 1, pieces)
    await task
    return got


async def replay(producer: Any, reader: Any, rounds: int = 200) -> list[float]:
    info = await producer.create(SPEC)
    await producer.try_start(info.id, "bench")
    for _ in range(500):
        await producer.append(info.id, PIECE)
    await producer.complete(info.id, 1, 500)
    samples = []
    for i in range(rounds):
        cursor = f"{info.epoch}-{(i * 7) % 480}"
        started = time.perf_counter()
        stream = reader.read(info.id, cursor)
        await anext(stream)
        samples.append(time.perf_counter() - started)
        await stream.aclose()
    return samples


async def fill(store: Any, sessions: int, pieces: int) -> list[str]:
    ids = []
    for _ in range(sessions):
        info = await store.create(SPEC)
        await store.try_start(info.id, "bench")
        for _ in range(pieces):
            await store.append(info.id, PIECE)
        await store.complete(info.id, 10, pieces)
        ids.append(info.id)
    return ids


async def memory_bytes_per_session(sessions: int = 1000, pieces: int = 200) -> float:
    store = MemorySessionStore()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    await fill(store, sessions, pieces)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / sessions


async def redis_bytes_per_session(client: Redis, store: RedisSessionStore, prefix: str) -> float:
    ids = await fill(store, 100, 200)
    total = 0
    for session_id in ids:
        for kind in ("m", "l"):
            total += int(await client.memory_usage(f"{prefix}{session_id}:{kind}") or 0)
    return total / len(ids)


async def held(url: str, prefix: str, count: int = 1000) -> str:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    pool = BlockingConnectionPool.from_url(url, max_connections=16, client_name=name)
    readers_client = Redis.from_pool(pool)
    writer_client = Redis.from_url(url)
    readers_side = RedisSessionStore(readers_client, Timings(check=30), prefix=prefix)
    writer = RedisSessionStore(writer_client, prefix=prefix)
    sessions = [await writer.create(SPEC) for _ in range(count)]
    for info in sessions:
        await writer.try_start(info.id, "bench")
    arrived: list[float] = []
    everyone = asyncio.Event()

    async def read(session_id: str) -> None:
        async for outcome in readers_side.read(session_id):
            if isinstance(outcome, Piece):
                arrived.append(time.perf_counter())
                if len(arrived) == count:
                    everyone.set()

    tasks = [asyncio.create_task(read(info.id)) for info in sessions]
    subscribed = 0
    while subscribed < count:  # every reader has caught up and subscribed
        await asyncio.sleep(0.05)
        connections = [c for c in await writer_client.client_list() if c.get("name") == name]
        subscribed = max((int(c["sub"]) for c in connections), default=0)
    started = time.perf_counter()
    for info in sessions:
        await writer.append(info.id, PIECE)
    appended = time.perf_counter() - started
    await everyone.wait()
    spread = max(arrived) - started
    for info in sessions:
        await writer.complete(info.id, 1, 1)
    await asyncio.gather(*tasks)
    await readers_side.aclose()
    await writer.aclose()
    await readers_client.aclose()
    await writer_client.aclose()
    return (
        f"{count} waiting readers on one replica used {len(connections)} Redis connections "
        f"(pool of 16; one subscribed to {subscribed} channels); {count} appends from "
        f"another replica (sent one after another in {appended * 1000:.0f} ms) reached "
        f"every reader {spread * 1000:.0f} ms after the first was sent"
    )


async def main(redis_url: str | None) -> None:
    memory = MemorySessionStore()
    print(f"memory  live   : {summary(await live(memory, memory))}")
    print(f"memory  replay : {summary(await replay(memory, memory))}")
    per = await memory_bytes_per_session()
    print(f"memory  per ended session of 200 pieces: {per / 1024:.1f} KiB")
    if redis_url is None:
        return
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    a_client, b_client = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a = RedisSessionStore(a_client, prefix=prefix)
    b = RedisSessionStore(b_client, prefix=prefix)
    try:
        print(f"redis   live, same replica   : {summary(await live(a, a))}")
        print(f"redis   live, other replica  : {summary(await live(a, b))}")
        print(f"redis   replay, same replica : {summary(await replay(a, a))}")
        print(f"redis   replay, other replica: {summary(await replay(a, b))}")
        per = await redis_bytes_per_session(a_client, a, prefix)
        print(f"redis   per ended session of 200 pieces: {per / 1024:.1f} KiB (MEMORY USAGE)")
        print(f"redis   held: {await held(redis_url, prefix)}")
    finally:
        await a.aclose()
        await b.aclose()
        keys = [k async for k in a_client.scan_iter(match=f"{prefix}*", count=1000)]
        for i in range(0, len(keys), 500):
            await a_client.delete(*keys[i : i + 500])
        await a_client.aclose()
        await b_client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis", default=None, help="also measure the Redis backend")
    asyncio.run(main(parser.parse_args().redis))

"""Property: a reader that drops at any point and resumes from its last cursor, on the
same or another replica, while the producer is still appending, gets the exact text.

Redis runs with two independent store instances (each its own client and wake-ups): the
producer and the first read use replica A, the resumed read a random one of A and B.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from continuum.sessions.memory import MemorySessionStore
from continuum.sessions.model import Cursor, Done, Piece, SessionSpec, Timings

TIMINGS = Timings(check=0.2)
SPEC = SessionSpec(owner="prop", prompt="p", model="m")

pieces_strategy = st.lists(st.text(max_size=12), max_size=30)


async def one_trial(
    replicas: list[Any], pieces: list[str], cut: int, pauses: list[int], second: int, late: bool
) -> None:
    a, b = replicas[0], replicas[second % len(replicas)]
    info = await a.create(SPEC)
    assert await a.try_start(info.id, "producer")

    async def produce() -> None:
        for i, piece in enumerate(pieces):
            await a.append(info.id, piece)
            for _ in range(pauses[i % len(pauses)] if pauses else 0):
                await asyncio.sleep(0)
        await a.complete(info.id, 1, len(pieces))

    producer = asyncio.create_task(produce())
    if late:  # the reader may also arrive after part of the answer, or all of it
        for _ in range(cut % 7):
            await asyncio.sleep(0)
    received: list[Piece | Done] = []
    cursor: Cursor | None = None
    async with asyncio.timeout(20):
        first = a.read(info.id)
        async for outcome in first:
            assert isinstance(outcome, Piece | Done), outcome
            received.append(outcome)
            cursor = outcome.cursor
            if len(received) == cut:
                break  # the client drops here
        await first.aclose()
        resumed = b.read(info.id, None if cursor is None else str(cursor))
        async for outcome in resumed:
            assert isinstance(outcome, Piece | Done), outcome
            received.append(outcome)
        await producer
    assert "".join(o.text for o in received if isinstance(o, Piece)) == "".join(pieces)
    assert [o.cursor for o in received] == [
        Cursor(info.epoch, k) for k in range(1, len(pieces) + 2)
    ]  # no gap, no duplicate, one end
    assert isinstance(received[-1], Done)


def run_property(replicas_factory: Any, examples: int) -> None:
    with asyncio.Runner() as runner:
        replicas, close = runner.run(replicas_factory())
        try:

            @settings(max_examples=examples, deadline=None, database=None)
            @given(
                pieces=pieces_strategy,
                cut=st.integers(min_value=0, max_value=35),
                pauses=st.lists(st.integers(min_value=0, max_value=3), max_size=5),
                second=st.integers(min_value=0, max_value=1),
                late=st.booleans(),
            )
            def trial(
                pieces: list[str], cut: int, pauses: list[int], second: int, late: bool
            ) -> None:
                runner.run(one_trial(replicas, pieces, cut, pauses, second, late))

            trial()
        finally:
            runner.run(close())


def test_resume_is_byte_exact_on_memory() -> None:
    async def factory() -> tuple[list[Any], Any]:
        store = MemorySessionStore(TIMINGS)

        async def close() -> None:
            await store.aclose()

        return [store], close

    run_property(factory, examples=500)


@pytest.mark.redis
def test_resume_is_byte_exact_across_two_redis_replicas(redis_url: str) -> None:
    from continuum.sessions.redis import RedisSessionStore

    prefix = f"test:{uuid.uuid4().hex[:12]}:"

    async def factory() -> tuple[list[Any], Any]:
        clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
        stores = [RedisSessionStore(c, TIMINGS, prefix=prefix) for c in clients]

        async def close() -> None:
            for store in stores:
                await store.aclose()
            keys = [k async for k in clients[0].scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await clients[0].delete(*keys)
            for client in clients:
                await client.aclose()

        return stores, close

    run_property(factory, examples=300)

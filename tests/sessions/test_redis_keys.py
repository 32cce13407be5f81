"""Redis specifics: every key carries a TTL, and waiting readers share one connection."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from continuum.sessions.model import Done, Timings
from tests.sessions.conftest import Backend, collect, spec

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_backend(redis_url: str) -> Backend:
    backend = Backend("redis", f"test:{uuid.uuid4().hex[:12]}:", redis_url=redis_url)
    yield backend  # type: ignore[misc]
    await backend.close()


async def test_nothing_is_left_without_a_ttl(redis_backend: Backend) -> None:
    redis_backend.outbox = redis_backend.redis_outbox()
    timings = Timings(pending_ttl=60, retention=600, chat_ttl=3600, check=0.05)
    store = await redis_backend.make(timings)
    pending = await store.create(spec())
    done = await store.create(spec(resume_url="https://example.com/hook", user_id="u"))
    await store.try_start(done.id, "p")
    reader = asyncio.create_task(collect(store.read(done.id)))
    await store.append(done.id, "answer")
    await store.complete(done.id, 1, 1)
    await reader
    running = await store.create(spec())
    await store.try_start(running.id, "p")
    await store.append(running.id, "still going")
    await store.open_chat("chat", "alice")
    turn = await store.begin_turn("chat", "hi", spec("hi"))
    await store.try_start(turn.id, "p")
    await store.append(turn.id, "hello")
    await store.complete(turn.id, 1, 1)
    await store.set_delivered("chat", "abc-1")

    client = redis_backend.clients[0]
    keys = sorted(
        [k.decode() async for k in client.scan_iter(match=f"{redis_backend.prefix}*", count=1000)]
    )
    ttls = {key: await client.pttl(key) for key in keys}
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    p = redis_backend.prefix
    assert 59_000 < ttls[f"{p}{pending.id}:m"] <= 660_000  # pending TTL + retention
    assert 590_000 < ttls[f"{p}{done.id}:m"] <= 600_000
    assert 590_000 < ttls[f"{p}{done.id}:l"] <= 600_000
    assert f"{p}{done.id}:h" not in ttls  # the lease dies with the generation
    assert 0 < ttls[f"{p}{running.id}:h"] <= 5_000
    assert 3_500_000 < ttls[f"{p}chat:chat:h"] <= 3_600_000
    assert any(key.startswith(f"{p}cb:d:msg_{done.id}") for key in keys)


async def test_many_waiting_readers_share_one_blocked_connection(
    redis_backend: Backend, redis_url: str
) -> None:
    from continuum.sessions.redis import RedisSessionStore

    name = f"tail-{uuid.uuid4().hex[:8]}"
    # A pool of 4 connections for 50 waiting readers: only the tail blocks one.
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=4, client_name=name)
    client = Redis.from_pool(pool)
    redis_backend.clients.append(client)
    readers_side = RedisSessionStore(client, Timings(check=5.0), prefix=redis_backend.prefix)
    redis_backend.stores.append(readers_side)
    writer = await redis_backend.make()
    sessions = [await writer.create(spec()) for _ in range(50)]
    for info in sessions:
        await writer.try_start(info.id, "p")
    readers = [asyncio.create_task(collect(readers_side.read(i.id))) for i in sessions]

    async def blocked_connections() -> int:
        clients = await client.client_list()
        return sum(1 for c in clients if c.get("name") == name and c.get("cmd") == "xread")

    for _ in range(300):  # until the tail blocks, watching every reader's log
        await asyncio.sleep(0.01)
        if await blocked_connections() == 1 and len(readers_side._tail._watches) == 50:
            break
    assert await blocked_connections() == 1
    assert len(readers_side._tail._watches) == 50
    assert not any(r.done() for r in readers)
    connections = [c for c in await client.client_list() if c.get("name") == name]
    assert len(connections) <= 4
    for info in sessions:
        await writer.append(info.id, f"to {info.id}")
        await writer.complete(info.id, 1, 1)
    async with asyncio.timeout(3):  # far under the readers' 5 s check: the tail woke them
        results = await asyncio.gather(*readers)
    for info, outcomes in zip(sessions, results, strict=True):
        assert outcomes[0].text == f"to {info.id}"  # type: ignore[union-attr]
        assert isinstance(outcomes[-1], Done)

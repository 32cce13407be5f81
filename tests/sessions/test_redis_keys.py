"""Redis specifics: every key carries a TTL, and waiting readers share one connection."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from continuum.sessions.model import Done, Timings
from tests.sessions.conftest import Backend, collect, eventually, spec

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


async def test_many_waiting_readers_share_one_subscriber_connection(
    redis_backend: Backend, redis_url: str
) -> None:
    from continuum.sessions.redis import RedisSessionStore

    name = f"tail-{uuid.uuid4().hex[:8]}"
    # A pool of 4 connections for 50 waiting readers: one subscriber serves them all.
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

    async def ours() -> list[dict[str, str]]:
        return [c for c in await writer._client.client_list() if c.get("name") == name]

    async def all_subscribed() -> bool:
        return max((int(c["sub"]) for c in await ours()), default=0) == 50

    try:
        await eventually(all_subscribed)  # one connection holds the 50 subscriptions
        assert len(await ours()) <= 4
        assert not any(r.done() for r in readers)
        for info in sessions:
            await writer.append(info.id, f"to {info.id}")
            await writer.complete(info.id, 1, 1)
        async with asyncio.timeout(3):  # far under the readers' 5 s check: woken up
            results = await asyncio.gather(*readers)
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    for info, outcomes in zip(sessions, results, strict=True):
        assert outcomes[0].text == f"to {info.id}"  # type: ignore[union-attr]
        assert isinstance(outcomes[-1], Done)
    await eventually(lambda: _zero(readers_side))  # every reader left: unsubscribed


async def _zero(store: object) -> bool:
    return store._wakeups.followed == 0  # type: ignore[attr-defined]


async def test_lost_wake_ups_lose_nothing(redis_backend: Backend, redis_url: str) -> None:
    """The subscriber connection of the reading replica is killed twice mid-stream:
    pub/sub messages are lost, the reader notices the gap (or times out) and reads the
    log from its own cursor: the text still arrives whole, once."""
    from continuum.sessions.redis import RedisSessionStore

    name = f"victim-{uuid.uuid4().hex[:8]}"
    client = Redis.from_url(redis_url, client_name=name)
    redis_backend.clients.append(client)
    reader_side = RedisSessionStore(client, Timings(check=0.2), prefix=redis_backend.prefix)
    redis_backend.stores.append(reader_side)
    writer = await redis_backend.make()
    info = await writer.create(spec())
    await writer.try_start(info.id, "p")
    reader = asyncio.create_task(collect(reader_side.read(info.id), limit=30))
    await eventually(lambda: _following(reader_side))
    pieces = [f"piece {i}\n" for i in range(300)]

    async def resubscribed() -> bool:
        clients = await writer._client.client_list()
        return any(c.get("name") == name and int(c.get("sub", 0)) == 1 for c in clients)

    for i, piece in enumerate(pieces):
        if i in (100, 200):
            victims = [
                c["id"]
                for c in await writer._client.client_list()
                if c.get("name") == name and int(c.get("sub", 0)) > 0
            ]
            assert victims  # the subscriber exists, and dies here
            for victim in victims:
                await writer._client.client_kill_filter(_id=victim)
            await writer.append(info.id, piece)  # published while nobody listens
            await eventually(resubscribed)  # the subscriber reconnects and subscribes again
            continue
        await writer.append(info.id, piece)
        await asyncio.sleep(0.001)
    await writer.complete(info.id, 1, len(pieces))
    outcomes = await reader
    assert [o.text for o in outcomes if hasattr(o, "text")] == pieces
    assert [o.cursor.offset for o in outcomes] == list(range(1, len(pieces) + 2))  # type: ignore[union-attr]


async def _following(store: object) -> bool:
    return store._wakeups.followed == 1  # type: ignore[attr-defined]

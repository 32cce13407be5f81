"""The producer helper on both backends, and a producer process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from continuum.errors import UpstreamTimeout
from continuum.sessions.model import Failed, Piece, Timings
from continuum.sessions.producer import Producer
from tests.sessions.conftest import Backend, collect, spec

ROOT = Path(__file__).resolve().parents[2]


async def test_a_producer_appends_and_completes(live_backend: Backend) -> None:
    store = await live_backend.make()
    info = await store.create(spec())
    assert await store.try_start(info.id, "me")
    reader = asyncio.create_task(collect(store.read(info.id)))
    async with Producer(store, info.id, "me") as producer:
        for piece in ["a", "b\n", "c"]:
            assert await producer.append(piece)
        assert await producer.complete(5, 3)
    outcomes = await reader
    assert "".join(o.text for o in outcomes if isinstance(o, Piece)) == "ab\nc"
    found = await store.get(info.id)
    assert found is not None and found.state == "done"


async def test_heartbeats_outlive_many_leases(live_backend: Backend) -> None:
    store = await live_backend.make(Timings(lease=0.6, check=0.05))
    info = await store.create(spec())
    await store.try_start(info.id, "me")
    reader = asyncio.create_task(collect(store.read(info.id)))
    async with Producer(store, info.id, "me") as producer:
        started = time.monotonic()
        while time.monotonic() - started < 2.0:  # over three leases, a piece now and then
            assert await producer.append(".")
            await asyncio.sleep(0.1)
        await producer.complete(1, 1)
    outcomes = await reader
    assert not any(isinstance(o, Failed) for o in outcomes)


@pytest.mark.parametrize(
    ("error", "code"),
    [(UpstreamTimeout("no answer in 30 s"), "upstream_timeout"), (KeyError("x"), "internal_error")],
)
async def test_an_exception_in_the_block_ends_the_stream_visibly(
    live_backend: Backend, error: Exception, code: str
) -> None:
    store = await live_backend.make()
    info = await store.create(spec())
    await store.try_start(info.id, "me")
    with pytest.raises(type(error)):
        async with Producer(store, info.id, "me") as producer:
            await producer.append("partial")
            raise error
    outcomes = await collect(store.read(info.id))
    assert isinstance(outcomes[-1], Failed) and outcomes[-1].code == code


async def test_a_cancelled_generation_ends_the_stream(live_backend: Backend) -> None:
    store = await live_backend.make()
    info = await store.create(spec())
    await store.try_start(info.id, "me")
    appended = asyncio.Event()

    async def generate() -> None:
        async with Producer(store, info.id, "me") as producer:
            await producer.append("x")
            appended.set()
            await asyncio.Event().wait()  # an upstream that never answers

    task = asyncio.create_task(generate())
    await appended.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    outcomes = await collect(store.read(info.id))
    assert isinstance(outcomes[-1], Failed) and outcomes[-1].code == "producer_stopped"


async def test_a_producer_learns_the_session_is_no_longer_its(live_backend: Backend) -> None:
    store = await live_backend.make(Timings(lease=0.3, check=0.05))
    info = await store.create(spec())
    await store.try_start(info.id, "me")
    async with Producer(store, info.id, "me") as producer:
        assert await producer.append("x")
        assert await store.fail(info.id, "stopped by an operator", "cancelled")
        await asyncio.wait_for(producer.lost.wait(), 5)  # the next heartbeat says so
        assert not await producer.append("y")
    outcomes = await collect(store.read(info.id))
    assert isinstance(outcomes[-1], Failed) and outcomes[-1].code == "cancelled"


@pytest.mark.redis
async def test_a_producer_killed_with_sigkill_ends_its_readers_within_seconds(
    redis_url: str,
) -> None:
    from continuum.sessions.redis import RedisSessionStore

    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    client = Redis.from_url(redis_url)
    timings = Timings(lease=1.0, check=0.2)
    store = RedisSessionStore(client, timings, prefix=prefix)
    info = await store.create(spec())
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.sessions.producer_proc", redis_url, prefix, info.id, cwd=ROOT
    )
    try:
        pieces: list[str] = []
        killed_at = 0.0
        async with asyncio.timeout(30):
            async for outcome in store.read(info.id):
                if isinstance(outcome, Piece):
                    pieces.append(outcome.text)
                    if len(pieces) == 5:
                        child.send_signal(signal.SIGKILL)
                        killed_at = time.monotonic()
                    continue
                assert isinstance(outcome, Failed), outcome
                assert outcome.code == "producer_lost"
                noticed = time.monotonic() - killed_at
                break
        assert noticed < timings.lease + 2.0
        assert "".join(pieces) == "".join(f"piece {i}\n" for i in range(len(pieces)))
        assert await asyncio.wait_for(child.wait(), 5) == -signal.SIGKILL
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await store.aclose()
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

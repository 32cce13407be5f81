"""Session backends for the contract tests: memory (with a clock the test moves) and
Redis (real, with a key prefix of its own per test; several instances = replicas)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis

from continuum.sessions.base import SessionStore
from continuum.sessions.callbacks.model import Outbox
from continuum.sessions.memory import MemorySessionStore
from continuum.sessions.model import Outcome, SessionSpec, Timings


class FakeClock:
    """Wall-clock seconds that move only when the test says so."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Backend:
    """Makes stores (replicas) of one backend and moves or waits out their time."""

    kind: str
    prefix: str
    clock: FakeClock | None = None
    redis_url: str | None = None
    clients: list[Redis] = field(default_factory=list)
    stores: list[Any] = field(default_factory=list)
    outbox: Outbox | None = None

    async def make(self, timings: Timings | None = None) -> SessionStore:
        """A store; on Redis each call is another replica with its own connection."""
        timings = timings or Timings(check=0.05)
        store: Any
        if self.kind == "memory":
            if self.stores:
                return self.stores[0]  # one process, one memory
            store = MemorySessionStore(timings, clock=self.clock or time.time, outbox=self.outbox)
        else:
            from continuum.sessions.callbacks.redis import RedisOutbox
            from continuum.sessions.redis import RedisSessionStore

            assert self.redis_url is not None
            client = Redis.from_url(self.redis_url)
            self.clients.append(client)
            outbox = self.outbox if isinstance(self.outbox, RedisOutbox) else None
            store = RedisSessionStore(client, timings, prefix=self.prefix, outbox=outbox)
        self.stores.append(store)
        return store

    def redis_outbox(self) -> Any:
        from continuum.sessions.callbacks.redis import RedisOutbox

        assert self.redis_url is not None
        client = Redis.from_url(self.redis_url)
        self.clients.append(client)
        return RedisOutbox(client, prefix=f"{self.prefix}cb:")

    async def pass_time(self, seconds: float) -> None:
        """Memory: move the clock. Redis: its own clock must pass, so wait it out."""
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)

    async def close(self) -> None:
        for store in self.stores:
            await store.aclose()
        if self.clients:
            client = self.clients[0]
            keys = [key async for key in client.scan_iter(match=f"{self.prefix}*", count=1000)]
            if keys:
                await client.delete(*keys)
        for client in self.clients:
            await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Memory runs on a clock the test moves; Redis on Redis's own."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    if request.param == "memory":
        made = Backend("memory", prefix, clock=FakeClock())
    else:
        made = Backend("redis", prefix, redis_url=request.getfixturevalue("redis_url"))
    yield made
    await made.close()


@pytest.fixture(params=["memory", "redis"])
async def live_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Both backends on real time (for tests of tasks that run on their own, like heartbeats)."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    if request.param == "memory":
        made = Backend("memory", prefix)
    else:
        made = Backend("redis", prefix, redis_url=request.getfixturevalue("redis_url"))
    yield made
    await made.close()


def spec(prompt: str = "hello", **extra: Any) -> SessionSpec:
    return SessionSpec(owner="alice", prompt=prompt, model="local-echo", **extra)


async def collect(stream: AsyncIterator[Outcome], limit: float = 10.0) -> list[Outcome]:
    """Every outcome of a read, failing the test instead of hanging."""
    async with asyncio.timeout(limit):
        return [outcome async for outcome in stream]


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 10.0, every: float = 0.02
) -> None:
    """Wait for a condition (never for a guessed duration)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(every)

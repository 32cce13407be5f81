"""A producer in a process of its own, for the SIGKILL test: it claims a session and
appends ``piece <i>\\n`` every 20 ms, heartbeating, until it is killed."""

from __future__ import annotations

import asyncio
import sys

from redis.asyncio import Redis

from continuum.sessions.model import Timings
from continuum.sessions.producer import Producer
from continuum.sessions.redis import RedisSessionStore


async def main(url: str, prefix: str, session_id: str) -> None:
    store = RedisSessionStore(Redis.from_url(url), Timings(lease=1.0, check=0.2), prefix=prefix)
    assert await store.try_start(session_id, "child")
    async with Producer(store, session_id, "child") as producer:
        i = 0
        while await producer.append(f"piece {i}\n"):
            i += 1
            await asyncio.sleep(0.02)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))

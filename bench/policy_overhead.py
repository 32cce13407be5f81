"""The per-request cost of policy: the in-memory limiter and the usage ledger together.

    .venv/bin/python -m bench.policy_overhead [--redis redis://127.0.0.1:6379/0]

Times, per request, what the pipeline adds for policy: reserve two limits (requests and
tokens), settle with real usage, and queue one ledger record (the batched writer runs as
it does in the gateway, writing to SQLite), without and with the usage journal (one
line appended per record). Reports the median and p99 over batches.
With ``--redis`` it also times the Redis limiter and counts its round trips per request.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from continuum.core.context import Principal, RequestContext
from continuum.core.limits import parse_rate_limits
from continuum.core.ports import UsageRecord
from continuum.limits.memory import MemoryLimiter
from continuum.limits.redis import RedisLimiter
from continuum.store.database import Database, database_url
from continuum.usage.journal import Journal
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore

PRINCIPAL = Principal(
    "bench", "bench", limits=parse_rate_limits(["1000000000/minute", "1000000000000 tokens/minute"])
)
BATCH = 1000


async def one(limiter: MemoryLimiter | RedisLimiter, ledger: BatchingLedger | None) -> None:
    ctx = RequestContext("chatcmpl-x", PRINCIPAL)
    async with limiter.reserve(ctx, 300) as reservation:
        reservation.settle(120)
    if ledger is not None:
        ledger.record(
            UsageRecord(
                "chatcmpl-x",
                "bench",
                None,
                "m",
                "openai/m",
                20,
                100,
                1.0,
                0.5,
                200,
                None,
                time.time(),
            )
        )


async def per_request(
    limiter: MemoryLimiter | RedisLimiter, ledger: BatchingLedger | None, batches: int
) -> list[float]:
    samples = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(BATCH):
            await one(limiter, ledger)
        samples.append((time.perf_counter() - started) / BATCH * 1e6)
    return samples


def describe(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:<42} median {statistics.median(samples):7.1f} µs   p99 {p99:7.1f} µs per request"


async def main(redis_url: str | None, batches: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(database_url(None, Path(tmp)))
        await database.migrate()
        store = UsageStore(database)
        ledger = BatchingLedger(store)
        await ledger.start()
        journaled = BatchingLedger(store, journal=Journal(Path(tmp) / "journal"))
        await journaled.start()
        memory = MemoryLimiter()
        await per_request(memory, ledger, 5)  # warm up
        await per_request(memory, journaled, 5)
        # Side by side, alternating, so machine load weighs on each the same.
        rounds: dict[str, list[float]] = {"limiter": [], "ledger": [], "journal": []}
        for _ in range(batches // 5 or 1):
            rounds["limiter"] += await per_request(memory, None, 5)
            rounds["ledger"] += await per_request(memory, ledger, 5)
            rounds["journal"] += await per_request(memory, journaled, 5)
        print(describe("memory limiter only", rounds["limiter"]))
        print(describe("memory limiter + ledger (SQLite writer on)", rounds["ledger"]))
        print(describe("memory limiter + ledger + journal", rounds["journal"]))
        journal_cost = statistics.median(rounds["journal"]) - statistics.median(rounds["ledger"])
        print(f"the journal's own cost: {journal_cost:.2f} µs per request (difference of medians)")
        await ledger.close()
        await journaled.close()
        print(f"ledger rows written: {await store.count()}")
        await database.close()
    if redis_url:
        from redis.asyncio import Redis

        client = Redis.from_url(redis_url)
        limiter = RedisLimiter(client, prefix=f"bench:{time.time_ns()}:")
        await client.config_resetstat()
        samples = await per_request(limiter, None, max(1, batches // 10))
        calls = (await client.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)
        print(describe("redis limiter (reserve + settle)", samples))
        requests = max(1, batches // 10) * BATCH
        print(f"redis round trips per request: {calls / requests:.2f} (reserve 1, token settle 1)")
        await limiter.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", help="also measure the Redis limiter at this URL")
    parser.add_argument("--batches", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.redis, args.batches))

"""Chat sessions (``WS /ws/{session_id}``) against ``continuum serve``: memory and held load.

    .venv/bin/python -m bench.session_memory [--sessions 1000] [--tokens 200]
        [--held 1000] [--redis redis://127.0.0.1:6379/0]

* buffered: ``--sessions`` sessions, each one turn whose answer is ``--tokens`` pieces
  (local-echo of a prompt of that many words), read to its end and left: the gateway's
  RSS growth per session (memory backend; the buffers stay for their 10 min retention),
  and with ``--redis`` the ``MEMORY USAGE`` of each session's keys in Redis (the chat, its
  history, the turn's log) and the gateway's RSS growth beside it.
* held: ``--held`` clients connected at once, each to its own session, all sending a
  turn to a paced model (20 tokens, 0.25 s apart: 5 s an answer) together: how many got
  their whole answer, time to first token (median, p99) and the gateway's peak RSS.

The gateway runs as its own process (``continuum serve``, default settings); the clients
share this one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from bench.procs import rss_bytes
from continuum.testing.process import gateway_process

KEY = "sk-bench-sessions-0000000001"
USERS = (
    f'users:\n  - {{token: "{KEY}", name: bench, permissions: "*",'
    ' rate_limit: "10000000/minute"}\n'
)
MODELS = """default_model: local-echo
models:
  - {id: local-echo, provider: local, upstream_model: echo}
  - {id: paced, provider: local, upstream_model: echo, token_delay: 0.25}
"""


async def one_turn(base: str, session: str, content: str, model: str) -> tuple[float, int]:
    """Connect, send a turn, read it to its end: (seconds to the first token, tokens)."""
    async with connect(f"{base}/ws/{session}?token={KEY}&model={model}", max_size=None) as ws:
        sent = time.perf_counter()
        await ws.send(orjson.dumps({"type": "user_message", "content": content}).decode())
        first: float | None = None
        tokens = 0
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] != "assistant_message":
                raise RuntimeError(f"session {session}: {message}")
            if message["is_final"]:
                assert first is not None
                return first, tokens
            if first is None:
                first = time.perf_counter() - sent
            tokens += 1


async def buffered(base: str, pid: int, sessions: int, tokens: int) -> dict[str, float]:
    prompt = " ".join(f"t{i}" for i in range(tokens))
    await asyncio.gather(*(one_turn(base, f"warm-{i}", prompt, "local-echo") for i in range(20)))
    before = rss_bytes(pid)
    gate = asyncio.Semaphore(50)
    names = [f"mem-{uuid.uuid4().hex}" for _ in range(sessions)]

    async def run(name: str) -> None:
        async with gate:
            _, got = await one_turn(base, name, prompt, "local-echo")
            assert got == tokens, (got, tokens)

    await asyncio.gather(*(run(name) for name in names))
    await asyncio.sleep(1)
    after = rss_bytes(pid)
    return {"rss_per_session": (after - before) / sessions}


async def redis_usage(url: str, prefix: str) -> tuple[int, int]:
    """Bytes Redis reports for the keys under ``prefix``, and how many keys."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    total, keys = 0, 0
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        total += int(await client.memory_usage(key, samples=0) or 0)
        keys += 1
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.delete(key)
    await client.aclose()
    return total, keys


async def held(base: str, pid: int, clients: int) -> dict[str, Any]:
    prompt = " ".join(f"h{i}" for i in range(20))
    peak = 0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes(pid))
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_turn(base, f"held-{uuid.uuid4().hex}", prompt, "paced") for _ in range(clients)),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    ok = [r for r in results if isinstance(r, tuple) and r[1] == 20]
    errors = [r for r in results if isinstance(r, BaseException)]
    ttft = sorted(r[0] * 1000 for r in ok)
    return {
        "completed": len(ok),
        "errors": len(errors),
        "first_error": repr(errors[0]) if errors else "",
        "ttft_median_ms": statistics.median(ttft) if ttft else float("nan"),
        "ttft_p99_ms": ttft[min(len(ttft) - 1, int(len(ttft) * 0.99))] if ttft else float("nan"),
        "seconds": elapsed,
        "peak_rss_mb": peak / 2**20,
    }


def main(sessions: int, tokens: int, held_clients: int, redis: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "users.yml").write_text(USERS)
        (config / "models.yml").write_text(MODELS)
        prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        env = {"CONTINUUM_LOG_LEVEL": "warning", "CONTINUUM_REDIS_PREFIX": prefix}
        if redis:
            env["CONTINUUM_REDIS_URL"] = redis
        backend = "redis" if redis else "memory"
        args = ("--config-dir", str(config), "--data-dir", str(config / "data"))
        with gateway_process(*args, env=env, timeout=90) as gateway:
            base = gateway.url.replace("http://", "ws://")
            pid = gateway.process.pid
            print(f"backend: {backend}; gateway RSS at start {rss_bytes(pid) / 2**20:.1f} MB")
            found = asyncio.run(buffered(base, pid, sessions, tokens))
            print(
                f"buffered: {sessions} ended sessions of {tokens} tokens: gateway RSS "
                f"+{found['rss_per_session'] / 1024:.1f} KB a session"
            )
            if redis:
                total, keys = asyncio.run(redis_usage(redis, prefix))
                print(
                    f"  Redis MEMORY USAGE: {total / (sessions + 20) / 1024:.1f} KB a session"
                    f" ({keys} keys for {sessions + 20} sessions)"
                )
            if held_clients:
                report = asyncio.run(held(base, pid, held_clients))
                print(
                    f"held: {held_clients} clients at once: {report['completed']} whole answers,"
                    f" {report['errors']} errors {report['first_error']}; first token median"
                    f" {report['ttft_median_ms']:.1f} ms, p99 {report['ttft_p99_ms']:.1f} ms;"
                    f" all done in {report['seconds']:.1f} s; gateway peak RSS"
                    f" {report['peak_rss_mb']:.1f} MB"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--held", type=int, default=1000)
    parser.add_argument("--redis", default=None)
    options = parser.parse_args()
    main(options.sessions, options.tokens, options.held, options.redis)

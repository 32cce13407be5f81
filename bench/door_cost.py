"""The HTTP door's CPU per chat request, in-process: no sockets, no load generator.

    .venv/bin/python -m bench.door_cost [--requests 20000]

Drives the real ASGI app (auth, limits, the local echo model, the ledger) with a
minimal ASGI caller and reports CPU microseconds per request, non-streaming and
streaming (20-token answers), median of several rounds. Machine load moves wall-clock
throughput a lot; process CPU per request much less, so this is the figure to compare
two builds with: run it with each checkout's interpreter
(``../old/.venv/bin/python -m bench.door_cost``) one after the other, or alternately.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from continuum.app import create_app
from continuum.settings import Settings

KEY = "bench-door-cost-0123456789"
PROMPT = " ".join(f"word{i}" for i in range(20))


def _scope(body: bytes, path: str = "/v1/chat/completions") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }


async def _one(app: Any, body: bytes, scope: dict[str, Any], idle: asyncio.Event) -> int:
    sent = 0
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await idle.wait()  # a client that stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += len(message.get("body", b""))

    await app(dict(scope), receive, send)
    return sent


async def _round(app: Any, stream: bool, requests: int) -> float:
    body = orjson.dumps(
        {"model": "local-echo", "stream": stream, "messages": [{"role": "user", "content": PROMPT}]}
    )
    scope = _scope(body)
    idle = asyncio.Event()
    started = time.process_time()
    for _ in range(requests):
        assert await _one(app, body, scope, idle) > 0
    return (time.process_time() - started) / requests * 1e6


async def main(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "users.yml").write_text(
            f'users:\n  - token: "{KEY}"\n    name: bench\n    permissions: "*"\n'
            '    rate_limit: ["1000000000/minute", "1000000000000 tokens/minute"]\n'
        )
        settings = Settings.from_env({}, config_dir=config, data_dir=config)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await _round(app, False, 500)  # warm up
            for stream in (False, True):
                costs = [await _round(app, stream, requests) for _ in range(rounds)]
                kind = "streaming, 20 tokens" if stream else "non-streaming"
                print(
                    f"{kind}: median {statistics.median(costs):.1f} µs CPU per request "
                    f"(rounds: {', '.join(f'{c:.1f}' for c in costs)})",
                    flush=True,
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))

"""httpx vs aiohttp as the pooled upstream client, against the fake OpenAI upstream.

    python -m continuum.testing fake-openai --port 9911 --chunks 20 &
    python bench/upstream_client.py --url http://127.0.0.1:9911 --requests 5000

Each request streams a 20-chunk SSE answer and reads it to the end, 32 at a time,
on one event loop (uvloop), as the OpenAI provider does.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
import httpx
import orjson
import uvloop

BODY = orjson.dumps(
    {
        "model": "fake-model",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hello there world"}],
    }
)
HEADERS = {"content-type": "application/json"}


async def with_httpx(url: str, total: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=None) as client:

        async def one() -> None:
            request = client.build_request("POST", url, content=BODY, headers=HEADERS)
            response = await client.send(request, stream=True)
            async for _ in response.aiter_raw():
                pass
            await response.aclose()

        return await _drive(one, total, concurrency)


async def with_aiohttp(url: str, total: int, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.post(url, data=BODY, headers=HEADERS) as response:
                async for _ in response.content.iter_any():
                    pass

        return await _drive(one, total, concurrency)


async def _drive(one: object, total: int, concurrency: int) -> float:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:9911")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    url = f"{args.url}/v1/chat/completions"
    for name, run in (("httpx", with_httpx), ("aiohttp", with_aiohttp)):
        uvloop.run(run(url, 200, args.concurrency))  # warm-up
        rate = uvloop.run(run(url, args.requests, args.concurrency))
        print(f"{name:8s} {rate:8.0f} streamed requests/s")


if __name__ == "__main__":
    main()

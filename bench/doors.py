"""The same answers through the three chat doors of one gateway: SSE, WebSocket, TCP.

    .venv/bin/python -m bench.doors [--quick] [--rounds 3] [--streams 1000] [--seconds 5]

One ``continuum serve`` process (HTTP and the TCP door, the local echo model, auth and
the usage ledger on, as a user runs it) pinned alone to core 1; this harness and its
lean clients (``bench.door_clients``) on core 0. In each round every door takes its turn
at each measure, so the ratios compare figures taken side by side; the report gives
medians over the rounds:

* **chunks/s** at ``--streams`` concurrent streams (closed loop, 200-chunk answers), the
  gateway's CPU share meanwhile, and the chunks per CPU-second of the gateway (its
  one-core ceiling, whatever the client could take);
* **time to first chunk**: under that load, and alone (one request at a time, 20-chunk
  answers);
* **memory per open stream**: RSS growth with ``--streams`` paced streams held open
  (each has received its first chunk), divided by the streams; measured on a fresh
  gateway per door (warmed through that door), so no door reuses another's freed memory.

SSE and WebSocket carry one stream per connection at a time (as browsers and SDKs use
them); TCP multiplexes 100 per connection (its default limit). The WebSocket column is
skipped, with a note, when the gateway has no ``/v1/chat/completions/ws``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.door_clients import SseConnection, Tally, TcpConnection, WsConnection, http_request
from bench.doors_report import Plan, Results, table
from bench.procs import Service, cores, free_port, prepare_process

KEY = "ck-bench-doors-000000000000001"
HOST = "127.0.0.1"
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")
PER_CONNECTION = 100  # the TCP door's default max_concurrent_requests
MODELS = """models:
  - {id: bench-echo, provider: local, upstream_model: echo}
  - {id: bench-held, provider: local, upstream_model: echo, token_delay: 0.5}
"""
USERS = f'users:\n  - {{token: "{KEY}", name: "bench", permissions: "*"}}\n'
DOORS = ("sse", "ws", "tcp")


def prompt(words: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(words))


def body(model: str, words: int) -> bytes:
    return orjson.dumps(
        {"model": model, "messages": [{"role": "user", "content": prompt(words)}], "stream": True}
    )


def ws_message(model: str, words: int) -> bytes:
    return orjson.dumps(
        {"token": KEY, "model": model, "messages": [{"role": "user", "content": prompt(words)}]}
    )


@dataclass
class Gateway:
    service: Service
    http_port: int
    tcp_port: int


@dataclass
class Streams:
    """The open connections of one door and how to run one answer on them."""

    door: str
    tally: Tally
    connections: list[Any]
    answer: Callable[[int], Coroutine[Any, Any, bool]]  # the answer of stream number i

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


async def _connect_many(count: int, make: Callable[[], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(200)

    async def one() -> Any:
        async with gate:
            return await make()

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def open_streams(
    gateway: Gateway, door: str, streams: int, model: str, words: int
) -> Streams:
    loop = asyncio.get_running_loop()
    tally = Tally()
    if door == "sse":
        request = http_request(HOST, gateway.http_port, KEY, body(model, words))

        async def sse() -> SseConnection:
            _, conn = await loop.create_connection(
                lambda: SseConnection(tally, request), HOST, gateway.http_port
            )
            return conn

        conns = await _connect_many(streams, sse)
        return Streams(door, tally, conns, lambda i: conns[i].answer())
    if door == "ws":
        message = ws_message(model, words)

        async def ws() -> WsConnection:
            _, conn = await loop.create_connection(
                lambda: WsConnection(tally, HOST, gateway.http_port, message),
                HOST,
                gateway.http_port,
            )
            if not await conn.open():
                conn.close()
                raise ConnectionError("the gateway refused the WebSocket upgrade")
            return conn

        conns = await _connect_many(streams, ws)
        return Streams(door, tally, conns, lambda i: conns[i].answer())
    payload = body(model, words)

    async def tcp() -> TcpConnection:
        _, conn = await loop.create_connection(
            lambda: TcpConnection(tally, KEY, payload), HOST, gateway.tcp_port
        )
        await conn.open()
        return conn

    conns = await _connect_many(-(-streams // PER_CONNECTION), tcp)
    return Streams(door, tally, conns, lambda i: conns[i // PER_CONNECTION].answer())


async def has_ws_door(gateway: Gateway) -> bool:
    try:
        streams = await open_streams(gateway, "ws", 1, "bench-echo", 4)
    except ConnectionError:
        return False
    ok = await streams.answer(0)
    streams.close()
    return ok


async def check_counting(gateway: Gateway, door: str) -> None:
    """The lean client of ``door`` counts exactly the chunks of a known answer."""
    opened = await open_streams(gateway, door, 1, "bench-echo", 200)
    try:
        for _ in range(3):
            ok = await opened.answer(0)
            if not ok:
                raise RuntimeError(f"{door}: the gateway refused the benchmark's request")
        if (opened.tally.chunks, opened.tally.answers) != (600, 3):
            raise RuntimeError(
                f"{door}: counted {opened.tally.chunks} chunks in {opened.tally.answers} "
                "answers of 200"
            )
    finally:
        opened.close()


async def settle(gateway: Gateway, quiet: float = 0.05, longest: float = 15.0) -> None:
    """Wait until the gateway is idle (under 5% of a core for half a second)."""
    deadline = time.monotonic() + longest
    before = gateway.service.cpu()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = gateway.service.cpu()
        if now - before < quiet * 0.5:
            return
        before = now


async def throughput(
    gateway: Gateway, door: str, streams: int, seconds: float, warmup: float
) -> dict[str, float]:
    """Closed loop: ``streams`` streams, each asking for the next answer when one ends."""
    opened = await open_streams(gateway, door, streams, "bench-echo", 200)
    running = True

    async def worker(index: int) -> None:
        while running and await opened.answer(index):
            pass

    workers = [asyncio.create_task(worker(i)) for i in range(streams)]
    await asyncio.sleep(warmup)
    opened.tally.reset()
    cpu, started, client = gateway.service.cpu(), time.perf_counter(), time.process_time()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    client = time.process_time() - client
    chunks, cpu_used = opened.tally.chunks, gateway.service.cpu() - cpu
    errors, answers = opened.tally.errors, opened.tally.answers
    first = sorted(opened.tally.first_chunk)
    running = False
    opened.close()
    await asyncio.gather(*workers, return_exceptions=True)
    await settle(gateway)
    return {
        "chunks_per_s": chunks / elapsed,
        "gateway_cpu_share": cpu_used / elapsed,
        "client_cpu_share": client / elapsed,
        "chunks_per_cpu_s": chunks / cpu_used if cpu_used else float("nan"),
        "cpu_us_per_chunk": cpu_used / chunks * 1e6 if chunks else float("nan"),
        "ttfc_loaded_ms": statistics.median(first) * 1000 if first else float("nan"),
        "answers": answers,
        "errors": errors,
    }


async def first_chunk_alone(gateway: Gateway, door: str, count: int) -> dict[str, float]:
    """One connection, one request at a time: time to the first chunk."""
    opened = await open_streams(gateway, door, 1, "bench-echo", 20)
    for _ in range(10):  # warm the connection
        await opened.answer(0)
    opened.tally.reset()
    for _ in range(count):
        await opened.answer(0)
    times = sorted(opened.tally.first_chunk)
    opened.close()
    await settle(gateway)
    return {
        "ttfc_alone_ms": statistics.median(times) * 1000,
        "ttfc_alone_p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
    }


async def held(door: str, streams: int, longest: float, warm: float) -> dict[str, float]:
    """RSS growth of a fresh gateway with ``streams`` paced streams open, each past its
    first chunk. A fresh process per door and round: memory another door's load freed
    would otherwise be reused and hide what this door's streams take."""
    with tempfile.TemporaryDirectory(prefix="bench-doors-held-") as tmp:
        gateway = start_gateway(Path(tmp))
        try:
            wait_port(gateway.tcp_port)
            await throughput(gateway, door, 50, warm, 0.1)  # warm this door's path
            before = gateway.service.rss()
            opened = await open_streams(gateway, door, streams, "bench-held", 60)  # 30 s each
            tasks = [asyncio.create_task(opened.answer(i)) for i in range(streams)]
            deadline = time.monotonic() + longest
            while len(opened.tally.first_chunk) < streams and time.monotonic() < deadline:  # noqa: ASYNC110 - counted by the protocols
                await asyncio.sleep(0.05)
            flowing = len(opened.tally.first_chunk)
            rss = gateway.service.rss()
            opened.close()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            gateway.service.stop()
    return {
        "held_streams": flowing,
        "rss_before_mb": before / 2**20,
        "rss_held_mb": rss / 2**20,
        "kb_per_stream": (rss - before) / max(flowing, 1) / 1024,
    }


def start_gateway(root: Path) -> Gateway:
    (root / "config").mkdir()
    (root / "config" / "users.yml").write_text(USERS)
    (root / "config" / "models.yml").write_text(MODELS)
    http_port, tcp_port = free_port(), free_port()
    service = Service(
        "continuum",
        [sys.executable, "-m", "continuum", "serve"],
        http_port,
        "1" if cores() >= 2 else "0",
        env={
            "CONTINUUM_CONFIG_DIR": str(root / "config"),
            "CONTINUUM_DATA_DIR": str(root / "data"),
            "CONTINUUM_PORT": str(http_port),
            "CONTINUUM_TCP_ENABLED": "true",
            "CONTINUUM_TCP_PORT": str(tcp_port),
            "CONTINUUM_LOG_LEVEL": "warning",
        },
        log=root / "gateway.log",
    )
    return Gateway(service.start(), http_port, tcp_port)


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


async def run(
    plan: Plan, gateway: Gateway, log: Callable[[str], None], only: Sequence[str] = DOORS
) -> Results:
    doors = [door for door in DOORS if door in only]
    results = Results(plan, doors)
    if "ws" in doors and not await has_ws_door(gateway):
        doors.remove("ws")
        results.notes.append(
            "WebSocket: skipped, this build has no /v1/chat/completions/ws (the door is "
            "being built separately); rerun once it is merged."
        )
    for door in doors:
        await check_counting(gateway, door)
    for door in doors:  # warm every path once before measuring
        await throughput(gateway, door, min(plan.streams, 100), plan.warm, 0.1)
    for round_ in range(plan.rounds):
        for door in doors:
            log(f"round {round_ + 1}: {door} throughput")
            figures = await throughput(gateway, door, plan.streams, plan.seconds, plan.warmup)
            results.add(door, figures, round_)
        for door in doors:
            log(f"round {round_ + 1}: {door} first chunk alone")
            results.add(door, await first_chunk_alone(gateway, door, plan.alone), round_)
        for door in doors:
            log(f"round {round_ + 1}: {door} held streams")
            results.add(door, await held(door, plan.streams, plan.hold_timeout, plan.warm), round_)
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.doors", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0, help="each load measurement")
    parser.add_argument("--alone", type=int, default=300, help="requests timed one at a time")
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--smoke", action="store_true", help="seconds long: checks it runs")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--doors", default=",".join(DOORS), help="which doors, comma-separated (sse,ws,tcp)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.smoke:
        plan = Plan(1, 20, 0.3, 0.1, 10, 20.0, warm=0.1)
    elif args.quick:
        plan = Plan(1, min(args.streams, 200), 2.0, 0.5, 50, 30.0)
    else:
        plan = Plan(args.rounds, args.streams, args.seconds, 1.0, args.alone)
    prepare_process(client_cpu=0)

    def log(message: str) -> None:
        print(f"[bench.doors] {message}", file=sys.stderr, flush=True)

    with open("/proc/loadavg") as f:
        load_before = f.read().split()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-doors-") as tmp:
        gateway = start_gateway(Path(tmp))
        try:
            wait_port(gateway.tcp_port)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                results = runner.run(run(plan, gateway, log, args.doors.split(",")))
        finally:
            gateway.service.stop()
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[0]
    print(
        f"bench.doors: {plan.rounds} round(s), {plan.streams} streams, {plan.seconds:g} s loads, "
        f"{time.monotonic() - started:.0f} s; medians; load average {load_before} -> {load_after}"
    )
    print(table(results))
    for note in results.notes:
        print(f"\n{note}")
    if args.json:
        args.json.write_text(json.dumps({"plan": vars(plan), "runs": results.runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``continuum serve`` with the TCP door: a real process, signals, drains, the ledger after."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from continuum.client import ConnectionClosed, GoingAway, TcpClient, TcpStream
from continuum.core.events import TextDelta
from continuum.testing.server import free_port
from tests.e2e.test_cli import KEY_LINE, read_until, serve

WORDS = " ".join(f"w{i}" for i in range(40))
LONG = " ".join(f"long{i}" for i in range(120))
# 25 ms a word: TCP answers of 1 s, an HTTP answer of 3 s, still running at the signal.
MODELS = "models:\n  - {id: paced, provider: local, upstream_model: echo, token_delay: 0.025}\n"


def chat(prompt: str = WORDS) -> dict[str, object]:
    return {"model": "paced", "stream": True, "messages": [{"role": "user", "content": prompt}]}


def ledger(data: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(data / "continuum.db") as db:
        query = "SELECT door, status, completion_tokens FROM continuum_usage ORDER BY door"
        return list(db.execute(query))


def start(tmp_path: Path) -> tuple[dict[str, str], int, int]:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "models.yml").write_text(MODELS)
    tcp_port, http_port = free_port(), free_port()
    env = {
        "ENABLE_TCP_SERVER": "true",
        "TCP_PORT": str(tcp_port),
        "HTTP_PORT": str(http_port),
        "CONTINUUM_CONFIG_DIR": str(tmp_path / "config"),
    }
    return env, tcp_port, http_port


async def read_through(client: TcpClient, stream: TcpStream) -> tuple[str, bool]:
    """The stream's text, and whether GOAWAY came while it was still running."""
    parts, goaway_midstream = [], False
    async for event in stream:
        if isinstance(event, TextDelta):
            parts.append(event.text)
            goaway_midstream |= client.draining
    return "".join(parts), goaway_midstream


async def drain_scenario(
    process: subprocess.Popen[str], key: str, tcp_port: int, http_port: int, clients: int
) -> None:
    """TCP streams and a longer HTTP stream in flight, then SIGTERM: every TCP client gets
    GOAWAY while its answer still runs (the drains run side by side, TCP's does not wait
    for HTTP's), every answer ends whole, and no new request is taken."""
    tcp = await asyncio.gather(
        *(TcpClient.connect("127.0.0.1", tcp_port, key) for _ in range(clients))
    )
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            request = http.build_request(
                "POST",
                f"http://127.0.0.1:{http_port}/v1/chat/completions",
                json=chat(LONG),
                headers={"authorization": f"Bearer {key}"},
            )
            response = await http.send(request, stream=True)
            chunks = response.aiter_text()
            sse = await anext(chunks)  # the HTTP stream is flowing
            streams = [client.stream(chat()) for client in tcp]
            firsts = [await anext(stream) for stream in streams]
            process.send_signal(signal.SIGTERM)
            results = await asyncio.gather(
                *(read_through(client, stream) for client, stream in zip(tcp, streams, strict=True))
            )
            async for chunk in chunks:
                sse += chunk
        for first, (rest, goaway_midstream) in zip(firsts, results, strict=True):
            assert isinstance(first, TextDelta) and first.text + rest == WORDS
            assert goaway_midstream
        assert sse.rstrip().endswith("data: [DONE]") and "long119" in sse
        for client in tcp:
            with pytest.raises((GoingAway, ConnectionClosed)):  # closed once drained
                client.stream(chat())
    finally:
        for client in tcp:
            await client.close()


def test_sigterm_drains_tcp_and_http_side_by_side_then_flushes_the_ledger(
    tmp_path: Path,
) -> None:
    env, tcp_port, http_port = start(tmp_path)
    with serve(tmp_path, env=env) as (process, lines):
        banner = read_until(process, lines, "TCP protocol on")
        assert f"tcp://127.0.0.1:{tcp_port}" in banner
        key_line = KEY_LINE.search(read_until(process, lines, "Sample credential"))
        assert key_line is not None
        read_until(process, lines, "Uvicorn running")
        asyncio.run(drain_scenario(process, key_line["key"], tcp_port, http_port, clients=2))
        assert process.wait(timeout=30) == 0
    assert ledger(tmp_path / "data") == [("http", 200, 120), ("tcp", 200, 40), ("tcp", 200, 40)]


def listening_sockets(port: int) -> int:
    """Sockets of this machine listening on ``port`` (state 0A in /proc/net/tcp)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                count += int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A"
    return count


def test_workers_each_serve_the_tcp_door_on_one_port_and_drain_it(tmp_path: Path) -> None:
    env, tcp_port, http_port = start(tmp_path)
    with serve(tmp_path, "--workers", "2", env=env) as (process, lines):
        key_line = KEY_LINE.search(read_until(process, lines, "Sample credential"))
        assert key_line is not None
        for _ in range(2):
            read_until(process, lines, "Application startup complete")
        assert listening_sockets(tcp_port) == 2  # one per worker, SO_REUSEPORT
        # 8 connections: the kernel spreads them over both workers, so some share a worker
        # with the HTTP stream, and still get GOAWAY at once (the chained signal handler).
        asyncio.run(drain_scenario(process, key_line["key"], tcp_port, http_port, clients=8))
        assert process.wait(timeout=30) == 0
    assert ledger(tmp_path / "data") == [("http", 200, 120)] + [("tcp", 200, 40)] * 8


def test_a_taken_tcp_port_is_a_clear_start_error(tmp_path: Path) -> None:
    env, tcp_port, _ = start(tmp_path)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", tcp_port))
        holder.listen()
        for args in ((), ("--workers", "2")):
            result = subprocess.run(
                [sys.executable, "-m", "continuum", "serve", *args],
                cwd=tmp_path,
                env=environment | env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 2, result.stderr
            assert f"cannot listen on 127.0.0.1:{tcp_port}" in result.stderr

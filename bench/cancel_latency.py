"""Client disconnect -> upstream connection closed, through a real gateway, three ways.

    .venv/bin/python -m bench.cancel_latency [--runs 10]

For each case a raw-socket client sends one request through the gateway to the fake
OpenAI upstream and closes its socket: mid-stream (after the first chunk), while a
stream waits for its first token (the upstream answers after 30 s), and while a
non-streaming request waits (same upstream). Prints the milliseconds between the
client's close and the fake upstream recording its connection closed (the promise:
within 100 ms), and how the ledger recorded the requests (499 each).
"""

from __future__ import annotations

import argparse
import socket
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream, fake_openai
from continuum.testing.server import serve_in_thread

KEY = "sk-0123456789abcdef"


def _request(model: str, stream: bool) -> bytes:
    body = orjson.dumps(
        {"model": model, "stream": stream, "messages": [{"role": "user", "content": "a b"}]}
    )
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
        + f"authorization: Bearer {KEY}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
        + body
    )


def once(gateway: str, fake: FakeUpstream, model: str, stream: bool, mid_stream: bool) -> float:
    """Milliseconds from the client's close to the upstream connection's close."""
    host, port = gateway.removeprefix("http://").split(":")
    seen = len(fake.recorder.requests)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(_request(model, stream))
        fake.recorder.wait_requests(seen + 1)  # the upstream is working on it
        connection = fake.recorder.requests[seen].connection
        if mid_stream:
            received = b""
            while b"data: {" not in received:
                received += sock.recv(65536)
        sock.shutdown(socket.SHUT_RDWR)
    gone = time.monotonic()
    closed = fake.recorder.wait_closed(connection, timeout=10).closed_at or gone
    return (closed - gone) * 1000


def main(runs: int) -> None:
    fake = fake_openai()
    config = Path(tempfile.mkdtemp())
    cases = [
        ("mid-stream", "m::chunk_delay=0.05,chunks=200", True, True),
        ("waiting for the first token", "m::latency=30", True, False),
        ("non-streaming", "m::latency=30", False, False),
    ]
    with fake.run_in_thread() as upstream:
        (config / "models.yml").write_text(
            "models:\n"
            + "".join(
                f'  - {{id: "{name}", provider: openai, upstream_model: "{model}",'
                f' base_url: "{upstream}/v1", api_key: k}}\n'
                for name, model, _, _ in cases
            )
        )
        (config / "users.yml").write_text(
            f'users:\n  - token: "{KEY}"\n    name: t\n    permissions: "*"\n'
        )
        settings = Settings.from_env({}, config_dir=config, data_dir=config)
        with serve_in_thread(create_app(settings)) as gateway:
            for name, _, stream, mid_stream in cases:
                latencies = [once(gateway, fake, name, stream, mid_stream) for _ in range(runs)]
                print(
                    f"{name}: disconnect -> upstream close median "
                    f"{statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms"
                    f" ({runs} runs)",
                    flush=True,
                )
            httpx.get(f"{gateway}/usage", headers={"authorization": f"Bearer {KEY}"})  # flush
        with sqlite3.connect(config / "continuum.db") as db:
            rows = db.execute(
                "SELECT model, status, count(*) FROM continuum_usage GROUP BY model, status"
            ).fetchall()
        print("ledger:", ", ".join(f"{model} {status} x{count}" for model, status, count in rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    main(parser.parse_args().runs)

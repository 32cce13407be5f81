"""Slow clients against ``continuum serve``: how many descriptors they hold, and for how long.

    .venv/bin/python -m bench.slow_clients [--clients 500] [--seconds 20]

Opens ``clients`` connections that drip a request's headers (one byte every 0.5 s) and
as many that send a request with a body shorter than its Content-Length, against a
gateway with its default settings (a 10 s header deadline, a 60 s body deadline
unless ``--body-timeout`` says otherwise), and samples every second the gateway's open
descriptors and the latency of ``GET /health`` from a well-behaved client. Run it with
another build's ``PYTHONPATH`` to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import tempfile
import time
from pathlib import Path

import httpx

from continuum.testing.process import gateway_process

KEY = "sk-slow-clients-bench-000001"


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main(clients: int, seconds: float, body_timeout: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{KEY}", name: "slow", permissions: "*"}}\n'
        )
        env = {"CONTINUUM_BODY_TIMEOUT": str(body_timeout)}
        args = ("--config-dir", str(config), "--data-dir", str(config / "data"))
        with gateway_process(*args, env=env) as gateway:
            pid = gateway.process.pid
            host, port = gateway.url.removeprefix("http://").split(":")
            print(f"descriptors before: {descriptors(pid)}", flush=True)
            drippers, short = [], []
            for _ in range(clients):
                sock = socket.create_connection((host, int(port)))
                sock.setblocking(False)
                sock.send(b"GET /health HTTP/1.1\r\n")
                drippers.append(sock)
                sock = socket.create_connection((host, int(port)))
                sock.sendall(
                    b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n"
                    b"content-type: application/json\r\n"
                    + f"authorization: Bearer {KEY}\r\n\r\n{{".encode()
                )
                short.append(sock)
            started = time.monotonic()
            with httpx.Client(base_url=gateway.url) as client:
                while time.monotonic() - started < seconds:
                    for sock in drippers:
                        with contextlib.suppress(OSError):
                            sock.send(b"x")
                    asked = time.monotonic()
                    status = client.get("/health", timeout=30).status_code
                    health = (time.monotonic() - asked) * 1000
                    print(
                        f"t={time.monotonic() - started:5.1f} s: {descriptors(pid)} descriptors,"
                        f" /health {status} in {health:.1f} ms",
                        flush=True,
                    )
                    time.sleep(max(0.0, 1 - (time.monotonic() - asked)))
            answered = 0
            for sock in short:
                sock.setblocking(True)
                sock.settimeout(0.1)
                with contextlib.suppress(OSError):
                    answered += sock.recv(64).startswith(b"HTTP/1.1 408")
            for sock in drippers + short:
                sock.close()
            print(f"short bodies answered 408: {answered} of {clients}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--body-timeout", type=float, default=15)
    args = parser.parse_args()
    main(args.clients, args.seconds, args.body_timeout)

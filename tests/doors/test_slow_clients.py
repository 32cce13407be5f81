"""Slow clients are answered and closed while everyone else is served (issue 9, item 4).

Before: 500 connections dripping headers or bodies for 60 s were all held (descriptors
18 -> 518), and a body shorter than its Content-Length, or a chunked body that never
ends, hung with no answer. The gateway is served here as ``continuum serve`` serves it
(``server_options``), with short deadlines so the test is quick.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from continuum.app import create_app
from continuum.doors.http.server import server_options
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread

KEY = "sk-slow-clients-00000000001"
AUTH = f"authorization: Bearer {KEY}\r\n".encode()
CHAT = b'{"model": "local-echo", "messages": [{"role": "user", "content": "hi"}]}'


@dataclass
class Slow:
    """One slow client: what it sends at once, and what it drips every tick after."""

    kind: str
    opening: bytes
    drip: bytes = b""
    sock: socket.socket = field(init=False)
    received: bytes = b""
    closed_at: float | None = None


def _served(tmp_path: Path, **overrides: object) -> Iterator[str]:
    (tmp_path / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: slow, permissions: "*"}}\n'
    )
    settings = Settings.from_env({}, config_dir=tmp_path, data_dir=tmp_path, **overrides)
    with serve_in_thread(create_app(settings), **server_options(settings)) as url:
        yield url


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    yield from _served(tmp_path, header_timeout=0.5, body_timeout=0.5, max_connections=2000)


def _open(url: str, clients: list[Slow]) -> selectors.DefaultSelector:
    host, port = url.removeprefix("http://").split(":")
    selector = selectors.DefaultSelector()
    for client in clients:
        client.sock = socket.create_connection((host, int(port)))
        client.sock.setblocking(False)
        if client.opening:
            client.sock.sendall(client.opening)
        selector.register(client.sock, selectors.EVENT_READ, client)
    return selector


def _drip_until_closed(
    selector: selectors.DefaultSelector, clients: list[Slow], seconds: float
) -> None:
    """Drip every 50 ms; note what each client receives and when the server closes it."""
    started = time.monotonic()
    open_ = {id(c) for c in clients}
    while open_ and time.monotonic() - started < seconds:
        for key, _ in selector.select(timeout=0.05):
            client: Slow = key.data
            try:
                data = client.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if data:
                client.received += data
                continue
            client.closed_at = time.monotonic() - started
            selector.unregister(client.sock)
            open_.discard(id(client))
        for client in clients:
            if id(client) in open_ and client.drip:
                with contextlib.suppress(OSError):
                    client.sock.send(client.drip)
    for client in clients:
        client.sock.close()
    selector.close()


def test_hundreds_of_slow_clients_are_closed_while_others_are_served(served: str) -> None:
    post = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    clients = (
        [Slow("silent", b"") for _ in range(100)]
        + [Slow("headers", b"POST /v1/chat/completions HTTP/1.1\r\n", b"x") for _ in range(150)]
        + [
            Slow("short body", post + AUTH + b"content-length: 500\r\n\r\n" + CHAT[:20])
            for _ in range(100)
        ]
        + [
            Slow(
                "endless chunks", post + AUTH + b"transfer-encoding: chunked\r\n\r\n", b"1\r\n \r\n"
            )
            for _ in range(50)
        ]
    )
    selector = _open(served, clients)
    served_meanwhile: list[int] = []
    stop = threading.Event()

    def others() -> None:
        with httpx.Client(base_url=served, timeout=5) as client:
            while not stop.is_set():
                served_meanwhile.append(client.get("/health").status_code)
                reply = client.post(
                    "/v1/chat/completions", content=CHAT, headers={"authorization": f"Bearer {KEY}"}
                )
                served_meanwhile.append(reply.status_code)

    other = threading.Thread(target=others)
    other.start()
    try:
        _drip_until_closed(selector, clients, seconds=15)
    finally:
        stop.set()
        other.join(timeout=10)
    still_open = [c.kind for c in clients if c.closed_at is None]
    assert still_open == [], f"{len(still_open)} slow clients were never closed"
    # Closed soon after their half-second deadline (not at the end of the drip).
    assert max(c.closed_at or 0 for c in clients) < 5
    by_kind: dict[str, set[bytes]] = {}
    for client in clients:
        by_kind.setdefault(client.kind, set()).add(client.received.split(b"\r\n", 1)[0])
    assert by_kind["silent"] == {b""}  # never said anything: closed without an answer
    assert by_kind["headers"] == {b"HTTP/1.1 408 Request Timeout"}
    assert by_kind["short body"] == {b"HTTP/1.1 408 Request Timeout"}
    assert by_kind["endless chunks"] == {b"HTTP/1.1 408 Request Timeout"}
    body_answer = next(c.received for c in clients if c.kind == "short body")
    assert b'"code":"request_timeout"' in body_answer and b"connection: close" in body_answer
    assert served_meanwhile and set(served_meanwhile) == {200}


def test_headers_too_large_are_refused(served: str) -> None:
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        try:
            for _ in range(100):
                sock.sendall(b"x-filler: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass  # closed under us: the answer is already there
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_connections_over_the_cap_are_refused_at_once_and_the_cap_recovers(
    tmp_path: Path,
) -> None:
    for url in _served(tmp_path, header_timeout=1.0, max_connections=40):
        idle = [Slow("idle", b"") for _ in range(60)]
        selector = _open(url, idle)
        _drip_until_closed(selector, idle, seconds=5)
        refused = [c for c in idle if c.received.startswith(b"HTTP/1.1 503 ")]
        timed_out = [c for c in idle if c.received == b""]
        assert len(refused) >= 20 and len(refused) + len(timed_out) == 60
        assert max(c.closed_at or 0 for c in refused) < 0.9  # at once, not at the deadline
        # Once the header deadline has reaped the idle ones, the gateway serves again.
        assert httpx.get(f"{url}/health").status_code == 200

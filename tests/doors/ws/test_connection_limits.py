"""What one WebSocket connection may hold (the kit, ``doors/ws/connection.py``), shown on
both dialects: a message over the body limit, too many requests waiting, a slow reader."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from continuum.app import build_gateway, create_app
from continuum.testing.fake_upstream import Fault
from continuum.testing.server import serve_in_thread
from tests.doors.world import (
    KEY,
    MAX_BODY,
    MAX_PENDING,
    USERS,
    World,
    chat,
    models_yml,
    scripted_provider,
    settings_for,
    with_token,
)
from tests.doors.ws.answers import chat_answer, message, text_of

CHAT = "/v1/chat/completions/ws"
PROMPT = "/model/ws"


async def closed_with(ws: ClientConnection) -> tuple[int | None, str]:
    """Read until the server closes; the close code and reason it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    rcvd = closed.value.rcvd
    return (rcvd.code, rcvd.reason) if rcvd else (None, "")


@pytest.mark.parametrize("path", [CHAT, PROMPT])
async def test_a_message_over_the_body_limit_closes_with_1009(world: World, path: str) -> None:
    async with connect(f"{world.ws}{path}?token={KEY}", max_size=None) as ws:
        await ws.send(with_token(chat(content="x" * MAX_BODY), KEY))
        code, reason = await closed_with(ws)
    assert code == 1009 and str(MAX_BODY) in reason
    # Just under the limit is a request like any other.
    async with connect(f"{world.ws}{CHAT}") as ws:
        body = with_token(chat(content="y"), KEY)
        size = MAX_BODY - len(body)  # the message is one byte under the limit
        await ws.send(body.replace('"y"', '"' + "y" * size + '"'))
        assert len(text_of(await chat_answer(ws))) == size


async def test_more_requests_waiting_than_allowed_is_a_policy_violation(world: World) -> None:
    async with connect(world.ws + CHAT) as ws:
        await ws.send(with_token(chat("slow"), KEY))
        await message(ws)  # the slow answer is streaming: everything else waits
        for i in range(MAX_PENDING + 1):
            await ws.send(with_token(chat(content=f"waiting {i}"), KEY))
        code, reason = await closed_with(ws)
    assert code == 1008 and "waiting" in reason


def small_receive_buffer() -> socket.socket:
    """A connected client socket whose kernel buffer holds little, so a client that stops
    reading makes the server's writes back up at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


@pytest.fixture(scope="module")
def on_uvloop(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A second gateway like ``world``, on uvloop as ``continuum serve`` runs (its
    transports' flow control is uvloop's own), sharing world's fake upstream."""
    config = tmp_path_factory.mktemp("uvloop")
    (config / "users.yml").write_text(USERS)
    # world's models.yml: the same models, the same fake upstream behind "remote"
    (config / "models.yml").write_text((world.data_dir.parent / "models.yml").read_text())
    gateway = build_gateway(settings_for(config), providers={"scripted": world.provider})
    with serve_in_thread(create_app(gateway=gateway), loop="uvloop") as url:
        yield World(url, world.provider, world.fake, config / "data")


@pytest.mark.parametrize("path", [CHAT, PROMPT])
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_a_reader_too_slow_is_disconnected_and_its_upstream_closed(
    world: World, on_uvloop: World, path: str, loop: str
) -> None:
    world = on_uvloop if loop == "uvloop" else world
    host, port = world.url.removeprefix("http://").split(":")
    sock = small_receive_buffer()
    sock.connect((host, int(port)))
    sock.setblocking(False)
    # The fake upstream answers with 5,000 chunks of 4,000 characters (20 MB) at 4 MB/s:
    # more than the sockets between the gateway and the client and the outbox can hold,
    # and for longer (5 s) than the gateway gives a client that does not read (0.5 s).
    word = "x" * 4000
    world.fake.script(Fault(chunks=5_000, chunk_delay=0.001))
    seen = len(world.fake.recorder.requests)
    if path == CHAT:
        request = with_token(chat("remote", word), KEY)
    else:
        request = orjson.dumps({"prompt": word, "token": KEY}).decode()
    # max_queue=1: the client library itself stops reading after one message. No
    # permessage-deflate: the repeated word would shrink a thousandfold on the wire.
    options: dict[str, Any] = {"max_queue": 1, "max_size": None, "compression": None}
    async with connect(f"{world.ws}{path}", sock=sock, **options) as ws:
        await ws.send(request)
        upstream = (await asyncio.to_thread(world.fake.recorder.wait_requests, seen + 1))[-1]
        # While the client reads nothing, the gateway gives up on it and closes the upstream.
        cut = await asyncio.to_thread(world.fake.recorder.wait_closed, upstream.connection, 10)
        assert cut.mid_stream
        # Then the client can read what had been sent, and the close that follows it.
        received = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received += len(await asyncio.wait_for(ws.recv(), 10))
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, "slow consumer" in closed.value.rcvd.reason) == (1008, True)
    assert 0 < received < 10_000_000
    door = "ws" if path == CHAT else "simple-ws"
    deadline = time.monotonic() + 5
    while not [r for r in world.rows() if (r["door"], r["status"]) == (door, 499)]:
        assert time.monotonic() < deadline, "the slow reader's request was never recorded"
        await asyncio.sleep(0.02)


async def test_shutdown_closes_every_connection_with_1012_and_records_what_was_cut(
    tmp_path: Path,
) -> None:
    (tmp_path / "users.yml").write_text(USERS)
    (tmp_path / "models.yml").write_text(models_yml("http://127.0.0.1:9"))  # no upstream used
    gateway = build_gateway(settings_for(tmp_path), providers={"scripted": scripted_provider()})
    server = serve_in_thread(create_app(gateway=gateway))
    url = server.__enter__().replace("http://", "ws://") + CHAT
    stopped = False
    try:
        async with connect(url) as idle, connect(url) as busy:
            await busy.send(with_token(chat("slow"), KEY))
            await message(busy)  # streaming
            stopping = asyncio.get_running_loop().run_in_executor(
                None, server.__exit__, None, None, None
            )
            for ws in (idle, busy):
                code, _ = await closed_with(ws)
                assert code == 1012  # service restart: come back later
            await stopping
            stopped = True
    finally:
        if not stopped:
            server.__exit__(None, None, None)
    # The gateway flushed its ledger on the way out: the cut request is in it.
    with sqlite3.connect(tmp_path / "data" / "continuum.db") as db:
        rows = list(db.execute("SELECT status, door, error_code FROM continuum_usage"))
    assert rows == [(499, "ws", "client_closed")]

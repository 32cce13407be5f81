"""What one WebSocket connection may hold (the kit, ``doors/ws/connection.py``), shown on
both dialects: a message over the body limit, too many requests waiting, a slow reader."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from continuum.testing.fake_upstream import Fault
from tests.doors.world import KEY, MAX_BODY, MAX_PENDING, World, chat, with_token
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


@pytest.mark.parametrize("path", [CHAT, PROMPT])
async def test_a_reader_too_slow_is_disconnected_and_its_upstream_closed(
    world: World, path: str
) -> None:
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

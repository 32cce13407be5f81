"""The TCP door over a real gateway: the same keys, permissions, limits, errors and usage
ledger as the HTTP door, and cancellation that reaches the upstream.

Each test runs a gateway (``build_gateway`` with a scripted provider and a manual clock)
and its ``TcpDoor`` on a real socket, read with the shipped ``TcpClient``; the HTTP door
of the same gateway (in process, httpx's ASGI transport) is the reference for errors.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from continuum.app import build_gateway, create_app
from continuum.client import ServerError, TcpClient
from continuum.core.events import Finish, TextDelta, Usage
from continuum.doors.tcp.door import TcpDoor
from continuum.errors import UpstreamError, UpstreamUnavailable
from continuum.gateway import Gateway
from continuum.settings import Settings
from continuum.testing.clock import ManualClock
from continuum.testing.scripted import ScriptedProvider, break_after, fail, ok
from tests.doors.tcp.conftest import until

PROTOCOL_DOCS = (Path(__file__).resolve().parents[3] / "docs" / "protocol.md").read_text()
KEY = "ck-tcp-door-everything-0001"
NARROW = "ck-tcp-door-narrow-00000001"
LIMITED = "ck-tcp-door-limited-0000001"

USERS = f"""
users:
  - {{token: "{KEY}", name: "everyone", permissions: "*"}}
  - {{token: "{NARROW}", name: "narrow", permissions: ["local-text"]}}
  - {{token: "{LIMITED}", name: "limited", permissions: "*", rate_limit: "2/minute"}}
"""

MODELS = """
models:
  - {id: local-text, provider: local, upstream_model: text}
  - {id: down, provider: scripted, upstream_model: down}
  - {id: cut, provider: scripted, upstream_model: cut}
  - {id: slow, provider: scripted, upstream_model: slow}
"""


@dataclass
class Door:
    gateway: Gateway
    tcp: TcpDoor
    provider: ScriptedProvider
    clock: ManualClock
    data_dir: Path

    @property
    def port(self) -> int:
        assert self.tcp.address is not None
        return self.tcp.address[1]

    async def connect(self, key: str = KEY) -> TcpClient:
        return await TcpClient.connect("127.0.0.1", self.port, key)

    async def http(self, body: bytes, key: str = KEY) -> httpx.Response:
        """The HTTP door of the same gateway, for the reference answer."""
        transport = httpx.ASGITransport(app=create_app(gateway=self.gateway))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            return await client.post(
                "/v1/chat/completions",
                content=body,
                headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
            )

    async def rows(self, expected: int) -> list[tuple[str, str, int, str | None, int]]:
        """(door, model, status, error code, completion tokens) of every ledger row, once
        there are ``expected`` of them (the ledger's writer may be inserting a batch)."""
        query = (
            "SELECT door, model, status, error_code, completion_tokens FROM continuum_usage"
            " ORDER BY created"
        )
        async with asyncio.timeout(10):
            while True:
                await self.gateway.ledger.flush()
                with sqlite3.connect(self.data_dir / "continuum.db") as db:
                    rows = list(db.execute(query))
                if len(rows) >= expected:
                    return rows
                await asyncio.sleep(0.01)


@pytest.fixture
async def door(tmp_path: Path) -> AsyncIterator[Door]:
    (tmp_path / "users.yml").write_text(USERS)
    (tmp_path / "models.yml").write_text(MODELS)
    provider = ScriptedProvider(
        {
            "down": [fail(UpstreamUnavailable("the upstream is down"))],
            "cut": [break_after(2, UpstreamError("the upstream broke"))],
            "slow": [ok("first and then nothing for a long time", token_delay=30)],
        }
    )
    env = {"CONTINUUM_RETRIES": "0", "ENABLE_TCP_SERVER": "true", "TCP_PORT": "0"}
    settings = Settings.from_env(env, config_dir=tmp_path, data_dir=tmp_path)
    clock = ManualClock()
    gateway = build_gateway(settings, clock=clock, providers={"scripted": provider})
    async with gateway, TcpDoor(gateway) as tcp:
        yield Door(gateway, tcp, provider, clock, tmp_path)


def chat(
    model: str = "local-text", prompt: str = "Tell me about gateways.", **extra: Any
) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}


async def sse_text(door: Door, body: dict[str, Any]) -> str:
    response = await door.http(orjson.dumps(body | {"stream": True}))
    parts = []
    for line in response.text.split("\n\n"):
        data = line.removeprefix("data: ")
        if data and data != "[DONE]":
            for choice in orjson.loads(data)["choices"]:
                parts.append(choice["delta"].get("content") or "")
    return "".join(parts)


async def test_answers_match_the_http_door_and_are_recorded_as_tcp(door: Door) -> None:
    client = await door.connect()
    bodies = [chat(prompt=f"Question {i}", seed=i, stream=False) for i in range(20)]
    answers = await asyncio.gather(*(client.stream(body).text() for body in bodies))
    assert answers == [await sse_text(door, body) for body in bodies]
    events = [event async for event in client.stream(chat(max_tokens=4))]
    assert sum(isinstance(event, TextDelta) for event in events) == 4
    assert events[-2:] == [Finish("length"), Usage(events[-1].prompt_tokens, 4)]  # type: ignore[union-attr]
    await client.close()
    rows = await door.rows(41)
    tcp = [row for row in rows if row[0] == "tcp"]
    assert len(tcp) == 21 and len(rows) == 41  # and 20 over HTTP
    assert all(row[1:4] == ("local-text", 200, None) for row in tcp)
    assert tcp[-1][4] == 4


BAD_BODIES = [
    pytest.param(b'{"model": "local-text", "messages": [', id="broken-json"),
    pytest.param(orjson.dumps({"model": "local-text"}), id="no-messages"),
    pytest.param(orjson.dumps(chat() | {"temperature": 9}), id="bad-temperature"),
    pytest.param(
        orjson.dumps({"model": "local-text", "messages": [{"role": "wizard", "content": "x"}]}),
        id="bad-role",
    ),
    pytest.param(orjson.dumps(chat("no-such-model")), id="unknown-model"),
    pytest.param(orjson.dumps(chat("down")), id="upstream-down"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_errors_carry_the_http_doors_status_code_and_param(door: Door, body: bytes) -> None:
    reference = (await door.http(body)).json()["error"]
    status = (await door.http(body)).status_code
    client = await door.connect()
    with pytest.raises(ServerError) as caught:
        await client.stream(body).text()
    error = caught.value
    assert (error.status, error.code, error.param) == (
        status,
        reference["code"],
        reference["param"],
    )
    assert error.message == reference["message"]
    # The connection goes on serving after a failed request.
    assert await client.stream(chat()).text()
    await client.close()


async def test_a_model_outside_the_keys_permissions_is_refused(door: Door) -> None:
    client = await door.connect(NARROW)
    with pytest.raises(ServerError) as caught:
        await client.stream(chat("down")).text()
    # Answered like a model that does not exist, on every door, so ids cannot be enumerated.
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")
    http = await door.http(orjson.dumps(chat("down")), key=NARROW)
    assert (http.status_code, http.json()["error"]["code"]) == (404, "model_not_found")
    assert http.json()["error"]["message"] == caught.value.message
    assert await client.stream(chat()).text()  # its own model still works
    await client.close()


async def test_a_wrong_key_is_refused_at_the_handshake(door: Door) -> None:
    with pytest.raises(ServerError) as caught:
        await door.connect("ck-not-a-key-of-anyone-000")
    assert (caught.value.status, caught.value.code) == (401, "invalid_api_key")


async def test_rate_limits_are_shared_with_http_and_say_when_to_retry(door: Door) -> None:
    client = await door.connect(LIMITED)
    assert await client.stream(chat()).text()
    assert (await door.http(orjson.dumps(chat()), key=LIMITED)).status_code == 200
    with pytest.raises(ServerError) as caught:
        await client.stream(chat()).text()
    error = caught.value
    assert (error.status, error.code) == (429, "rate_limit_exceeded")
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    http = await door.http(orjson.dumps(chat()), key=LIMITED)
    assert http.status_code == 429
    door.clock.advance(error.retry_after)
    assert await client.stream(chat()).text()  # the same connection, once the limit allows
    await client.close()


async def test_a_failure_mid_stream_ends_the_request_with_its_error(door: Door) -> None:
    client = await door.connect()
    stream = client.stream(chat("cut"))
    texts = []
    with pytest.raises(ServerError) as caught:
        async for event in stream:
            if isinstance(event, TextDelta):
                texts.append(event.text)
    assert "".join(texts) == "a b"
    assert (caught.value.status, caught.value.code) == (502, "upstream_error")
    await client.close()
    assert ("tcp", "cut", 502, "upstream_error", 2) in await door.rows(1)


async def test_cancel_closes_the_upstream_at_once_and_is_recorded_as_499(door: Door) -> None:
    client = await door.connect()
    stream = client.stream(chat("slow"))
    first = await anext(stream)
    assert first == TextDelta("first")
    assert door.provider.closed == []
    await stream.aclose()  # CANCEL; the provider is sleeping 30 s before its next token
    await until(lambda: len(door.provider.closed) == 1)
    await until(lambda: client.open_streams == 0)  # the server's ERROR 499 arrived
    assert await client.stream(chat()).text()  # and the connection goes on
    await client.close()
    assert ("tcp", "slow", 499, "client_closed", 1) in await door.rows(2)


async def test_a_client_that_disconnects_closes_its_upstreams(door: Door) -> None:
    client = await door.connect()
    streams = [client.stream(chat("slow")) for _ in range(3)]
    for stream in streams:
        assert await anext(stream) == TextDelta("first")
    assert client.transport is not None
    client.transport.abort()
    await until(lambda: len(door.provider.closed) == 3)
    rows = await door.rows(3)
    assert rows.count(("tcp", "slow", 499, "client_closed", 1)) == 3


async def test_a_revoked_key_stops_working_on_an_open_connection(door: Door) -> None:
    key, info = await door.gateway.keys.create(name="temp", owner="temp")
    client = await TcpClient.connect("127.0.0.1", door.port, key)
    assert await client.stream(chat()).text()
    await door.gateway.keys.revoke(info.id)
    door.clock.advance(1)  # past the key cache's TTL
    with pytest.raises(ServerError) as caught:
        await client.stream(chat()).text()
    assert (caught.value.status, caught.value.code) == (401, "key_revoked")
    await client.close()


async def test_goaway_lets_open_requests_finish_before_the_gateway_closes(tmp_path: Path) -> None:
    (tmp_path / "users.yml").write_text(USERS)
    (tmp_path / "models.yml").write_text(MODELS)
    provider = ScriptedProvider({"slow": [ok("one two three", token_delay=0.05)]})
    env = {"ENABLE_TCP_SERVER": "true", "TCP_PORT": "0", "CONTINUUM_TCP_DRAIN_TIMEOUT": "30"}
    settings = Settings.from_env(env, config_dir=tmp_path, data_dir=tmp_path)
    gateway = build_gateway(settings, providers={"scripted": provider})
    async with gateway, TcpDoor(gateway) as tcp:
        assert tcp.address is not None
        client = await TcpClient.connect("127.0.0.1", tcp.address[1], KEY)
        streams = [client.stream(chat("slow")) for _ in range(5)]
        for stream in streams:
            assert await anext(stream) == TextDelta("one")
        closing = tcp.drain()
        await until(lambda: client.draining)
        answers = await asyncio.gather(*(stream.text() for stream in streams))
        assert answers == [" two three"] * 5
        assert closing is not None
        await closing
        await client.close()
    # The gateway closed after the door: every drained request is in the ledger.
    with sqlite3.connect(tmp_path / "continuum.db") as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM continuum_usage")]
    assert statuses == [200] * 5


async def test_the_python_example_of_the_protocol_docs_runs(door: Door) -> None:
    """docs/protocol.md §16's example, run as written against this gateway's TCP door."""
    example = (
        PROTOCOL_DOCS.split("## 16. Running it", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    )
    assert 'key="ck-..."' in example and "tcp://127.0.0.1:8989" in example
    code = example.replace("ck-...", KEY).replace("127.0.0.1:8989", f"127.0.0.1:{door.port}")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    client = await door.connect()
    expected = await client.stream(chat(prompt="Hello!")).text()
    await client.close()
    assert out.decode() == expected + "\n"

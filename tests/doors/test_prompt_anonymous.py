"""Seed 001's service had no keys: with ``CONTINUUM_SIMPLE_ANONYMOUS`` the prompt API
admits callers without one, on the default model only, each ``user_id`` (else client
address) with its own limits, ``user_id`` checked by the configured validator."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.clock import ManualClock
from continuum.testing.server import serve_in_thread
from tests.doors.world import World
from tests.doors.ws.answers import prompt_answer

KEY = "sk-anon-gateway-key-00000001"


@dataclass
class Open:
    url: str
    data_dir: Path
    clock: ManualClock

    def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}/model", json=body, headers=headers or {})

    def rows(self) -> list[dict[str, Any]]:
        httpx.get(f"{self.url}/usage", headers={"authorization": f"Bearer {KEY}"})  # flushes
        with sqlite3.connect(self.data_dir / "continuum.db") as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute("SELECT * FROM continuum_usage")]


@pytest.fixture(scope="module")
def open_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Open]:
    config = tmp_path_factory.mktemp("anonymous")
    (config / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: keyed, permissions: "*"}}\n'
    )
    env = {
        "CONTINUUM_SIMPLE_ANONYMOUS": "true",
        "CONTINUUM_SIMPLE_ANONYMOUS_RATE_LIMIT": "3/minute",
        "CONTINUUM_USER_VALIDATOR": "tests.doors.validators:seed_validator",
        "CONTINUUM_DEFAULT_MODEL": "local-echo",
    }
    settings = Settings.from_env(env, config_dir=config, data_dir=config / "data")
    clock = ManualClock()
    with serve_in_thread(create_app(settings, clock=clock)) as url:
        yield Open(url, config / "data", clock)


@pytest.fixture(autouse=True)
def fresh_limits(open_gateway: Open) -> None:
    """Each test starts with every caller's limits refilled (time moves, nobody sleeps)."""
    open_gateway.clock.advance(3600)


def test_a_caller_without_a_key_is_served_and_counted_by_user_id(open_gateway: Open) -> None:
    response = open_gateway.post({"prompt": "Ciao mondo", "user_id": "user_1"})
    assert response.status_code == 200
    assert response.json()["response"] == "Ciao mondo"
    row = next(
        r for r in open_gateway.rows() if r["request_id"] == response.headers["x-request-id"]
    )
    assert (row["user_id"], row["key_id"], row["door"], row["model"]) == (
        "user:user_1",
        None,
        "simple",
        "local-echo",
    )


def test_each_user_id_has_its_own_limit_and_no_id_means_the_address(open_gateway: Open) -> None:
    statuses = [
        open_gateway.post({"prompt": "x", "user_id": "user_2"}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = open_gateway.post({"prompt": "x", "user_id": "user_2"})
    assert (
        refused.json()["code"] == "rate_limit_exceeded" and int(refused.headers["retry-after"]) >= 1
    )
    assert open_gateway.post({"prompt": "x", "user_id": "user_3"}).status_code == 200
    statuses = [open_gateway.post({"prompt": "x"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert {"ip:127.0.0.1", "user:user_2", "user:user_3"} <= {
        r["user_id"] for r in open_gateway.rows()
    }


def test_the_validator_refuses_and_normalizes(open_gateway: Open) -> None:
    refused = open_gateway.post({"prompt": "x", "user_id": "mallory"})
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "The user_id 'mallory' is not valid",
        "code": "invalid_user",
        "param": "user_id",
    }
    # admin_4 is user_4 to the validator: both spend the same 3/minute.
    statuses = [
        open_gateway.post({"prompt": "x", "user_id": uid}).status_code
        for uid in ("admin_4", "user_4", "admin_4", "user_4")
    ]
    assert statuses == [200, 200, 200, 429]
    assert "user:admin_4" not in {r["user_id"] for r in open_gateway.rows()}
    check = httpx.post(f"{open_gateway.url}/validate-user", json={"user_id": "admin_4"}).json()
    assert check == {"valid": True, "user_id": "admin_4", "normalized": "user_4"}
    # A caller with a key is checked the same way, but counted as its key's user.
    keyed = {"authorization": f"Bearer {KEY}"}
    assert open_gateway.post({"prompt": "x", "user_id": "mallory"}, keyed).status_code == 403
    ok = open_gateway.post({"prompt": "x", "user_id": "user_4"}, keyed)
    assert ok.status_code == 200
    row = next(r for r in open_gateway.rows() if r["request_id"] == ok.headers["x-request-id"])
    assert row["user_id"] == "keyed"


async def test_the_prompt_socket_admits_keyless_callers_too(open_gateway: Open) -> None:
    async with connect(open_gateway.url.replace("http://", "ws://") + "/model/ws") as ws:
        await ws.send(orjson.dumps({"prompt": "Ciao WebSocket", "user_id": "user_5"}).decode())
        assert (await prompt_answer(ws))[-1]["result"]["response"] == "Ciao WebSocket"
        await ws.send(orjson.dumps({"prompt": "x", "user_id": "eve"}).decode())
        assert (await prompt_answer(ws))[0]["code"] == "invalid_user"
    assert "user:user_5" in {r["user_id"] for r in open_gateway.rows()}


def test_a_guest_with_a_bad_body_gets_400(open_gateway: Open) -> None:
    response = httpx.post(f"{open_gateway.url}/model", content=b"{not json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_json"
    bad_key = {"authorization": "Bearer sk-not-a-key-000000000000"}
    assert open_gateway.post({"prompt": "x"}, bad_key).status_code == 401  # not a guest


def test_guests_get_nothing_but_the_prompt_api(open_gateway: Open) -> None:
    body = {"model": "local-echo", "messages": [{"role": "user", "content": "x"}]}
    assert httpx.post(f"{open_gateway.url}/v1/chat/completions", json=body).status_code == 401
    assert httpx.get(f"{open_gateway.url}/v1/models").status_code == 401
    # and no agent (none exist here; an agents configuration names its own permissions)
    response = httpx.post(
        f"{open_gateway.url}/agent/any", json={"prompt": "x", "user_id": "user_6"}
    )
    assert response.status_code == 404


# Seed 001's "Python con WebSocket" example, as written but for its URL (the seed's
# service had no keys, as this gateway's prompt API has none).
async def seed_001_python_example(url: str) -> None:
    import json

    import websockets

    async with websockets.connect(url) as websocket:
        # Invia prompt
        await websocket.send(json.dumps({"prompt": "Ciao WebSocket"}))

        # Ricevi risposte
        while True:
            response = await websocket.recv()
            data = json.loads(response)

            if data["type"] == "chunk":
                print(f"Chunk: {data['content']}")
            elif data["type"] == "complete":
                print(f"Completo: {data['result']}")
                break
            elif "error" in data:
                print(f"Errore: {data['error']}")
                break


async def test_seed_001s_python_example(
    open_gateway: Open, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed_001_python_example(open_gateway.url.replace("http://", "ws://") + "/model/ws")
    result = open_gateway.post({"prompt": "Ciao WebSocket"}).json()  # the same, over HTTP
    assert result["response"] == "Ciao WebSocket"
    assert capsys.readouterr().out.splitlines() == [
        "Chunk: Ciao",
        "Chunk:  WebSocket",
        f"Completo: {result}",
    ]


async def test_seed_001s_python_example_meets_an_error(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against a gateway that wants keys: the error message has a ``type`` too, so the
    seed's loop (which reads ``data["type"]`` first) reports it instead of failing."""
    await seed_001_python_example(world.ws + "/model/ws")
    assert capsys.readouterr().out.splitlines() == [
        "Errore: You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."
    ]

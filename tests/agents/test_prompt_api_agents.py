"""Seed 001's ``/agent/{name}`` routes (HTTP and WebSocket) running the configured agents.

The routes belong to the prompt-API door (``continuum/doors/http/simple.py``,
``continuum/doors/ws/simple.py``); they reach the agents through ``SimpleApi.agents``,
which ``app.build_gateway`` sets to ``gateway.agents.stream``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

pytest.importorskip(
    "continuum.dialects.simple.service",
    reason="the seed-001 /agent/{name} routes (prompt-API door) have not landed yet",
)

from websockets.asyncio.client import connect

from tests.agents.stage import FULL_KEY, MODEL_ONLY_KEY, Stage, staged

AGENTS_YML = """
agents:
  - {name: "math", model: "local-text", tools: ["calculator"], rate_limit: "100/minute"}
"""
INTERNAL = "internal-key-for-the-prompt-tests-0123"


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    root = tmp_path_factory.mktemp("prompt-agents")
    with staged(root, AGENTS_YML, env={"CONTINUUM_INTERNAL_KEY": INTERNAL}) as running:
        yield running


def post(stage: Stage, path: str, key: str = FULL_KEY, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{stage.url}{path}",
        json={"prompt": "what is 12*(3+4)?", "user_id": "user_1"},
        headers={"authorization": f"Bearer {key}", **headers},
    )


def check_result(result: dict[str, Any]) -> None:
    assert result["prompt"] == "what is 12*(3+4)?" and result["response"] == "12*(3+4) = 84"
    first, second = result["iterations"]
    assert [(c["name"], c["result"]) for c in first["tool_calls"]] == [("calculator", "84")]
    assert second["output"] == "12*(3+4) = 84"
    assert result["usage"]["total_tokens"] == sum(
        i["usage"]["total_tokens"] for i in result["iterations"]
    )


@pytest.mark.parametrize("path", ["/agent/math", "/agent/math/stream"])
def test_the_agent_routes_answer_with_the_iterations(stage: Stage, path: str) -> None:
    response = post(stage, path)
    assert response.status_code == 200, response.text
    check_result(response.json())
    records = stage.records_of(response.headers["x-request-id"])
    assert [(r["user_id"], r["door"], r["model"]) for r in records] == [
        ("full", "simple", "local-text")
    ] * 2


def test_the_stream_route_sends_events_when_asked(stage: Stage) -> None:
    response = post(stage, "/agent/math/stream", accept="text/event-stream")
    assert response.headers["content-type"].startswith("text/event-stream")
    messages = [
        orjson.loads(frame.removeprefix("data: "))
        for frame in response.text.split("\n\n")
        if frame.startswith("data: ")
    ]
    chunks, complete = messages[:-1], messages[-1]
    assert "".join(m["content"] for m in chunks) == "12*(3+4) = 84"
    assert complete["type"] == "complete"
    check_result(complete["result"])


async def test_the_agent_socket_streams_chunks_then_the_result(stage: Stage) -> None:
    url = stage.url.replace("http://", "ws://")
    async with connect(f"{url}/agent/math/ws?token={FULL_KEY}") as ws:
        await ws.send(orjson.dumps({"prompt": "what is 12*(3+4)?", "user_id": "user_1"}))
        messages = []
        while not messages or messages[-1].get("type") == "chunk":
            messages.append(orjson.loads(await ws.recv()))
    chunks, complete = messages[:-1], messages[-1]
    assert [set(m) for m in chunks] == [{"type", "content"}] * len(chunks)
    assert "".join(m["content"] for m in chunks) == "12*(3+4) = 84"
    assert complete["type"] == "complete"
    check_result(complete["result"])


def test_an_agent_the_caller_may_not_use_is_not_found(stage: Stage) -> None:
    hidden, missing = post(stage, "/agent/math", MODEL_ONLY_KEY), post(stage, "/agent/nobody")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "agent_not_found"


def test_the_runtime_endpoint_is_not_an_agent_called_message(stage: Stage) -> None:
    body = {"agent": "math", "message": "what is 2+2?"}
    response = httpx.post(
        f"{stage.url}/agent/message/stream", json=body, headers={"x-internal-auth": INTERNAL}
    )
    assert response.status_code == 200
    assert '"is_final":true' in response.text

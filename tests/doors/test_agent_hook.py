"""``/agent/{name}`` (HTTP, SSE, WebSocket) once a gateway has agents: the routes reach
them through ``Gateway.simple.agents`` (``AgentRuns``). Here the hook is filled, the way
the gateway's own agents configuration is meant to, with the agent loop of
``continuum.agents`` calling models through the pipeline under the caller's identity."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from continuum.agents import AgentEvent, load_agents, stream
from continuum.agents.config import AgentsConfig
from continuum.app import build_gateway, create_app
from continuum.core.context import RequestContext
from continuum.core.pipeline import Pipeline
from continuum.core.types import ChatRequest
from continuum.dialects.simple.service import AgentRuns
from continuum.errors import NotFound
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread
from tests.doors.ws.answers import prompt_answer

KEY = "sk-agent-hook-key-0000000001"
AGENTS = """
agents:
  - name: math
    model: local-text
    system_prompt: "You are a careful calculator."
    tools: [calculator]
"""
QUESTION = {"prompt": "What is 12*(3+4)?", "user_id": "user_1"}


def agent_runs(config: AgentsConfig, pipeline: Pipeline) -> AgentRuns:
    """An ``AgentRuns``: each model call of a run is a request of the caller's own."""

    async def runs(ctx: RequestContext, name: str, prompt: str) -> AsyncGenerator[AgentEvent, None]:
        agent = config.get(name)
        if agent is None:
            raise NotFound(f"Agent '{name}' not found", param="name", code="agent_not_found")

        def call_model(request: ChatRequest) -> AsyncGenerator[Any, None]:
            call = RequestContext(
                pipeline.new_id("chatcmpl-"), ctx.principal, ctx.door, ctx.client, ctx.user_id
            )
            return pipeline.chat(call, request)

        run = stream(agent, prompt, call_model, user=ctx.user_id, request_id=ctx.request_id)
        async with contextlib.aclosing(run) as events:
            async for event in events:
                yield event

    return runs


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("agents")
    (config / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: asker, permissions: "*"}}\n'
    )
    (config / "agents.yml").write_text(AGENTS)
    gateway = build_gateway(Settings.from_env({}, config_dir=config, data_dir=config / "data"))
    agents = load_agents(Path(config / "agents.yml"), models={"local-text"})
    gateway.simple = dataclasses.replace(
        gateway.simple, agents=agent_runs(agents, gateway.pipeline)
    )
    with serve_in_thread(create_app(gateway=gateway)) as base:
        yield base


def same(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its tool calls' ids, which differ with each run's request id."""
    out = orjson.loads(orjson.dumps(result))
    for iteration in out["iterations"]:
        for call in iteration["tool_calls"]:
            call.pop("id")
    return out


def post(url: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {KEY}", **(headers or {})}
    return httpx.post(f"{url}{path}", json=QUESTION, headers=headers)


def test_an_agent_answers_with_its_iterations(url: str) -> None:
    response = post(url, "/agent/math")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["prompt"] == QUESTION["prompt"] and "84" in result["response"]
    first, last = result["iterations"]
    (call,) = first["tool_calls"]
    assert (call["name"], call["result"]) == ("calculator", "84")
    assert last["tool_calls"] == [] and last["output"] == result["response"]
    steps = first["usage"]["total_tokens"] + last["usage"]["total_tokens"]
    assert result["usage"]["total_tokens"] == steps
    assert same(post(url, "/agent/math/stream").json()) == same(result)  # streamed inside


def test_an_agent_streams_over_sse_and_websocket(url: str) -> None:
    expected = post(url, "/agent/math").json()
    response = post(url, "/agent/math/stream", {"accept": "text/event-stream"})
    messages = [orjson.loads(e.removeprefix("data: ")) for e in response.text.split("\n\n") if e]
    assert messages[-1]["type"] == "complete"
    assert same(messages[-1]["result"]) == same(expected)
    assert "".join(m["content"] for m in messages[:-1]) == expected["response"]


async def test_an_agent_over_its_websocket(url: str) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{url}/agent/math", json=QUESTION, headers={"authorization": f"Bearer {KEY}"}
        )
    expected = answer.json()
    async with connect(f"{url.replace('http', 'ws')}/agent/math/ws?token={KEY}") as ws:
        for _ in range(2):  # many prompts on one connection
            await ws.send(orjson.dumps(QUESTION).decode())
            messages = await prompt_answer(ws)
            assert messages[-1]["type"] == "complete"
            assert same(messages[-1]["result"]) == same(expected)
            assert "".join(m["content"] for m in messages[:-1]) == expected["response"]
        await ws.send(orjson.dumps(QUESTION).decode().replace("12*(3+4)", "2+2"))
        assert "4" in (await prompt_answer(ws))[-1]["result"]["response"]


def test_other_names_are_still_404(url: str) -> None:
    response = post(url, "/agent/nobody")
    assert response.status_code == 404 and response.json()["code"] == "agent_not_found"

"""``GET /metrics`` of a real gateway after traffic through every door.

One gateway on real sockets (HTTP with its WebSocket doors, and the TCP door) with the
local models and a scripted provider for upstream failures. Each test scrapes before
and after its traffic and asserts how far each series moved, so the tests share the
gateway without depending on each other's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from continuum.app import build_gateway, create_app
from continuum.client import TcpClient
from continuum.doors.tcp.door import TcpDoor
from continuum.errors import UpstreamUnavailable
from continuum.settings import Settings
from continuum.testing.scripted import ScriptedProvider, fail, ok
from continuum.testing.server import serve_in_thread
from tests.doors.ws.answers import chat_answer, text_of
from tests.observability.scrape import Scrape

KEY = "sk-metrics-everything-000001"
LIMITED = "sk-metrics-one-a-minute-0001"
USERS = f"""
users:
  - {{token: "{KEY}", name: "everyone", permissions: "*"}}
  - {{token: "{LIMITED}", name: "limited", permissions: "*", rate_limit: "1/minute"}}
"""
# `flaky` is led by a deployment that always fails (its weight makes it first: the
# chance of the other leading is about 1e-12), so every request retries it once, puts
# it in cooldown (two failures in a row) and falls back to the one that works.
MODELS = """
models:
  - {id: local-text, provider: local, upstream_model: text}
  - {id: paced, provider: local, upstream_model: echo, token_delay: 0.05}
  - id: flaky
    deployments:
      - {provider: scripted, upstream_model: fails, weight: 1000000}
      - {provider: scripted, upstream_model: works, weight: 0.000001}
"""
LOCAL = {"model": "local-text", "deployment": "local/text"}


@dataclass
class Gateway:
    url: str
    tcp_port: int

    def scrape(self) -> Scrape:
        response = httpx.get(f"{self.url}/metrics")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return Scrape(response.text)

    def openai(self, key: str = KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0)


def with_tcp(app: FastAPI, door: TcpDoor, box: dict[str, int]) -> FastAPI:
    """Run the TCP door in the app's lifespan, as a ``--workers`` worker does."""
    http_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with door.gateway, door:
            assert door.address is not None
            box["tcp"] = door.address[1]
            async with http_lifespan(app) as state:
                yield state

    app.router.lifespan_context = lifespan
    return app


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = tmp_path_factory.mktemp("metrics")
    (config / "users.yml").write_text(USERS)
    (config / "models.yml").write_text(MODELS)
    provider = ScriptedProvider(
        {"fails": [fail(UpstreamUnavailable("down"))], "works": [ok("fell back fine")]}
    )
    env = {
        "CONTINUUM_RETRIES": "1",
        "CONTINUUM_COOLDOWN_FAILURES": "2",
        "ENABLE_TCP_SERVER": "true",
        "TCP_PORT": "0",
    }
    settings = Settings.from_env(env, config_dir=config, data_dir=config)
    built = build_gateway(settings, providers={"scripted": provider})
    box: dict[str, int] = {}
    app = with_tcp(create_app(gateway=built), TcpDoor(built), box)
    with serve_in_thread(app) as url:
        yield Gateway(url, box["tcp"])


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def until_zero(gateway: Gateway, name: str, **labels: str) -> None:
    """Wait for a gauge to come back to 0 (a server notices a close after the client)."""
    async with asyncio.timeout(10):
        while True:
            if gateway.scrape().value(name, **labels) == 0:
                return
            await asyncio.sleep(0.02)


def test_openai_streamed_and_whole_answers_count_requests_tokens_and_times(
    gateway: Gateway,
) -> None:
    before = gateway.scrape()
    client = gateway.openai()
    messages: Any = [{"role": "user", "content": "Tell me about gateways."}]
    whole = client.chat.completions.create(model="local-text", messages=messages, max_tokens=9)
    stream = client.chat.completions.create(
        model="local-text",
        messages=messages,
        max_tokens=7,
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = [chunk.usage for chunk in stream if chunk.usage is not None][-1]
    after = gateway.scrape()

    assert whole.usage is not None
    where = {"door": "http", **LOCAL}
    assert moved(before, after, "continuum_requests_total", **where, status="200") == 2
    assert moved(before, after, "continuum_request_duration_seconds_count", **where) == 2
    assert moved(before, after, "continuum_time_to_first_token_seconds_count", **where) == 2
    completion = whole.usage.completion_tokens + usage.completion_tokens
    assert completion == 16
    assert moved(before, after, "continuum_completion_tokens_total", **where) == completion
    prompt = whole.usage.prompt_tokens + usage.prompt_tokens
    assert moved(before, after, "continuum_prompt_tokens_total", **where) == prompt
    # Every request ended before the scrape: no stream is left open.
    assert after.value("continuum_open_streams", door="http") == 0


async def test_an_open_stream_shows_in_the_gauge_while_it_runs(gateway: Gateway) -> None:
    body = {"model": "paced", "stream": True, "messages": [{"role": "user", "content": "a b c"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    async with (
        httpx.AsyncClient(base_url=gateway.url, timeout=10) as http,
        http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response,
    ):
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith("data: ")  # the stream is flowing
        during = Scrape((await http.get("/metrics")).text)
        assert [line async for line in lines][-2] == "data: [DONE]"
    assert during.value("continuum_open_streams", door="http") == 1
    assert gateway.scrape().value("continuum_open_streams", door="http") == 0


def test_anthropic_messages_count_on_their_door(gateway: Gateway) -> None:
    before = gateway.scrape()
    client = anthropic.Anthropic(base_url=gateway.url, api_key=KEY, max_retries=0)
    message = client.messages.create(
        model="local-text", max_tokens=5, messages=[{"role": "user", "content": "Hello there"}]
    )
    after = gateway.scrape()
    where = {"door": "anthropic", **LOCAL}
    assert moved(before, after, "continuum_requests_total", **where, status="200") == 1
    assert moved(before, after, "continuum_completion_tokens_total", **where) == 5
    assert message.usage.output_tokens == 5


async def test_websocket_chat_counts_the_request_and_the_connection(gateway: Gateway) -> None:
    before = gateway.scrape()
    url = gateway.url.replace("http://", "ws://") + "/v1/chat/completions/ws"
    request = {"model": "local-text", "messages": [{"role": "user", "content": "Hi"}]}
    async with connect(url, additional_headers={"authorization": f"Bearer {KEY}"}) as ws:
        await ws.send(orjson.dumps({**request, "settings": {"max_tokens": 4}}).decode())
        assert text_of(await chat_answer(ws))
        during = gateway.scrape()
    assert during.value("continuum_websocket_connections", door="ws") == 1
    where = {"door": "ws", **LOCAL}
    assert moved(before, during, "continuum_requests_total", **where, status="200") == 1
    assert moved(before, during, "continuum_completion_tokens_total", **where) == 4
    await until_zero(gateway, "continuum_websocket_connections", door="ws")


async def test_tcp_requests_and_connections(gateway: Gateway) -> None:
    before = gateway.scrape()
    client = await TcpClient.connect("127.0.0.1", gateway.tcp_port, KEY)
    try:
        body = {
            "model": "local-text",
            "max_tokens": 6,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        assert await client.stream(body).text()
        during = gateway.scrape()
    finally:
        await client.close()
    assert during.value("continuum_tcp_connections") == 1
    where = {"door": "tcp", **LOCAL}
    assert moved(before, during, "continuum_requests_total", **where, status="200") == 1
    assert moved(before, during, "continuum_completion_tokens_total", **where) == 6
    await until_zero(gateway, "continuum_tcp_connections")


def test_a_rate_limited_request_is_counted_as_a_429_and_a_rejection(gateway: Gateway) -> None:
    before = gateway.scrape()
    client = gateway.openai(LIMITED)
    messages: Any = [{"role": "user", "content": "Hi"}]
    client.chat.completions.create(model="local-text", messages=messages, max_tokens=2)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="local-text", messages=messages, max_tokens=2)
    after = gateway.scrape()
    assert (
        moved(before, after, "continuum_rate_limited_total", door="http", model="local-text") == 1
    )
    refused = {"door": "http", "model": "local-text", "deployment": "none", "status": "429"}
    assert moved(before, after, "continuum_requests_total", **refused) == 1


def test_upstream_failures_retries_cooldowns_and_fallbacks(gateway: Gateway) -> None:
    before = gateway.scrape()
    reply = gateway.openai().chat.completions.create(
        model="flaky", messages=[{"role": "user", "content": "Hi"}]
    )
    after = gateway.scrape()
    assert reply.choices[0].message.content == "fell back fine"
    failing = {"deployment": "scripted/fails"}
    errors = moved(
        before, after, "continuum_upstream_errors_total", **failing, code="upstream_unavailable"
    )
    assert errors == 2  # the first try and its retry
    assert moved(before, after, "continuum_upstream_retries_total", **failing) == 1
    assert moved(before, after, "continuum_cooldowns_total", **failing) == 1
    fallback = {"model": "flaky", "from_deployment": "scripted/fails"}
    assert (
        moved(
            before, after, "continuum_fallbacks_total", **fallback, to_deployment="scripted/works"
        )
        == 1
    )
    served = {"door": "http", "model": "flaky", "deployment": "scripted/works", "status": "200"}
    assert moved(before, after, "continuum_requests_total", **served) == 1


def test_an_unknown_model_is_counted_under_one_label(gateway: Gateway) -> None:
    before = gateway.scrape()
    with pytest.raises(openai.NotFoundError):
        gateway.openai().chat.completions.create(
            model="no-such-model-3f9", messages=[{"role": "user", "content": "Hi"}]
        )
    after = gateway.scrape()
    unknown = {"door": "http", "model": "unknown", "deployment": "none", "status": "404"}
    assert moved(before, after, "continuum_requests_total", **unknown) == 1
    assert "no-such-model-3f9" not in str(after.samples)


def test_the_ledger_backlog_and_failures_are_exposed(gateway: Gateway) -> None:
    scrape = gateway.scrape()
    for name in ("continuum_ledger_backlog", "continuum_ledger_write_failures_total"):
        assert scrape.has(name), name
    assert scrape.value("continuum_ledger_write_failures_total") == 0


# -- who may scrape --------------------------------------------------------------------


def _app(tmp_path: Path, **env: str) -> FastAPI:
    return create_app(Settings.from_env(env, data_dir=tmp_path))


async def test_with_a_metrics_key_a_scrape_must_bear_it(tmp_path: Path) -> None:
    secret = "metrics-key-9f8e7d6c5b4a"
    with serve_in_thread(_app(tmp_path, CONTINUUM_METRICS_KEY=secret)) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = await http.get("/metrics", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401
            good = await http.get("/metrics", headers={"authorization": f"Bearer {secret}"})
    assert good.status_code == 200 and "continuum_requests_total" in good.text


async def test_without_a_key_only_loopback_clients_are_answered(tmp_path: Path) -> None:
    app = _app(tmp_path)
    for client, status in ((("203.0.113.9", 4000), 403), (("127.0.0.1", 4000), 200)):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            response = await http.get("/metrics")
        assert response.status_code == status, client
    assert response.text.startswith("# HELP")

"""The direct dispatch of hot routes keeps the door's behaviour: errors, CORS, ids."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from continuum.app import create_app
from continuum.core.ids import RequestIds
from continuum.core.limits import LimitState, RateLimit
from continuum.doors.http.fastpath import HttpApp
from continuum.errors import RateLimited
from continuum.settings import Settings
from tests.conftest import FULL_KEY


def _client(app: HttpApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_an_unexpected_error_on_a_fast_route_is_a_clean_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("bug")

    app = HttpApp()
    app.fast_route("POST", "/boom", broken)
    async with _client(app) as client:
        response = await client.post("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "bug" not in response.text
    assert any("unhandled error on POST /boom" in r.message for r in caplog.records)


async def test_a_continuum_error_on_a_fast_route_keeps_its_status_and_headers() -> None:
    async def limited(request: Request) -> Response:
        state = LimitState(RateLimit(5, 60), remaining=0, reset=2.2)
        raise RateLimited("slow down", retry_after=2.2, states=(state,))

    app = HttpApp()
    app.fast_route("POST", "/limited", limited)
    async with _client(app) as client:
        response = await client.post("/limited")
        other_method = await client.get("/limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.json()["error"]["message"] == "slow down"
    # Only the exact method is fast; the rest goes through FastAPI's routing (404 here).
    assert other_method.status_code == 404


async def test_chat_through_the_fast_route_and_with_cors(
    users_config: Path, tmp_path: Path
) -> None:
    body = {"model": "local-echo", "messages": [{"role": "user", "content": "hi there"}]}
    headers = {"authorization": f"Bearer {FULL_KEY}", "origin": "http://app.example"}
    for origins in ((), ("http://app.example",)):
        settings = Settings.from_env(
            {}, config_dir=users_config, data_dir=tmp_path, cors_origins=origins
        )
        async with _client(create_app(settings)) as client:
            response = await client.post("/v1/chat/completions", json=body, headers=headers)
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == "hi there"
        # With CORS configured the route goes through the middleware, which answers it.
        allowed = response.headers.get("access-control-allow-origin")
        assert allowed == ("http://app.example" if origins else None)


def test_request_ids_are_well_formed_and_unique() -> None:
    ids = RequestIds()
    made = {ids.new("chatcmpl-") for _ in range(10_000)}
    assert len(made) == 10_000
    assert all(re.fullmatch(r"chatcmpl-[0-9a-f]{24}", i) for i in made)
    assert RequestIds().new("chatcmpl-") not in made  # another process (seed) starts elsewhere
    assert re.fullmatch(r"ws-[0-9a-f]{24}", ids.new("ws-"))

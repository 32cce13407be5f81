"""Seed 001's prompt API over HTTP (``/model``, ``/model/stream``, ``/agent/{name}``) with
httpx on a real socket, against the fake upstream as the default model."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest

from continuum.testing.fake_upstream import Fault
from tests.doors.world import KEY, LIMITED, NOTHING, World

AUTH = {"authorization": f"Bearer {KEY}"}
SSE = {**AUTH, "accept": "text/event-stream"}


def post(
    world: World, path: str, body: Any, headers: dict[str, str] = AUTH, **options: Any
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(f"{world.url}{path}", content=content, headers=headers, **options)


def events(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f]
    assert all(f.startswith("data: ") and "\n" not in f for f in frames)
    return [orjson.loads(f.removeprefix("data: ")) for f in frames]


@pytest.mark.parametrize("path", ["/model", "/model/stream"])
def test_a_prompt_gets_the_response_and_its_usage(world: World, path: str) -> None:
    response = post(world, path, {"prompt": "Ciao mondo streaming", "user_id": "user_9"})
    assert response.status_code == 200
    assert response.json() == {
        "response": "Ciao mondo streaming",
        "usage": {"total_tokens": 6, "prompt_tokens": 3, "completion_tokens": 3},
    }
    assert list(response.json()["usage"]) == ["total_tokens", "prompt_tokens", "completion_tokens"]
    assert response.headers["x-request-id"].startswith("prompt-")
    assert response.headers["x-ratelimit-limit-requests"] == "100000"
    upstream = world.fake.recorder.last.json()
    # /model/stream streams from the model (and still answers the whole JSON).
    assert bool(upstream.get("stream")) is (path == "/model/stream")
    assert upstream["user"] == "user_9"
    row = world.row(response.headers["x-request-id"])
    assert (row["door"], row["status"], row["model"], row["user_id"]) == (
        "simple",
        200,
        "remote",
        "full",
    )


def test_model_stream_serves_sse_when_asked(world: World) -> None:
    response = post(world, "/model/stream", {"prompt": "one two three"}, SSE)
    assert response.status_code == 200 and response.headers["x-request-id"].startswith("prompt-")
    got = events(response)
    assert got == [
        {"type": "chunk", "content": "one"},
        {"type": "chunk", "content": " two"},
        {"type": "chunk", "content": " three"},
        {
            "type": "complete",
            "result": {
                "response": "one two three",
                "usage": {"total_tokens": 6, "prompt_tokens": 3, "completion_tokens": 3},
            },
        },
    ]
    # /model itself always answers JSON.
    assert post(world, "/model", {"prompt": "x"}, SSE).headers["content-type"] == "application/json"


def test_an_sse_stream_cut_upstream_ends_with_its_error_and_no_complete(world: World) -> None:
    world.fake.script(Fault(drop_after=2))
    got = events(post(world, "/model/stream", {"prompt": "a b c d e f"}, SSE))
    assert got[-1]["code"].startswith("upstream") and isinstance(got[-1]["error"], str)
    assert all(e.get("type") == "chunk" for e in got[:-1])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": " \n "}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"prompt": "ok", "user_id": ["x"]}, "user_id"),
    ],
)
def test_bad_bodies_are_400_in_the_seeds_error_shape(
    world: World, body: Any, param: str | None
) -> None:
    for path in ("/model", "/model/stream", "/agent/any", "/agent/any/stream"):
        response = post(world, path, body)
        assert response.status_code == 400, (path, response.text)
        error = response.json()
        assert isinstance(error["error"], str) and error["error"]
        assert error.get("param") == param
        assert error["code"] in (
            "invalid_json",
            "invalid_value",
            "missing_prompt",
            "invalid_request",
        )


def test_keys_permissions_and_limits(world: World) -> None:
    response = post(world, "/model", {"prompt": "x"}, {})
    assert response.status_code == 401 and response.json()["code"] == "invalid_api_key"
    # Who asks comes first: without a key, nothing of the body is read or judged.
    assert post(world, "/model", b"{not json", {}).status_code == 401
    response = post(
        world, "/model", {"prompt": "x"}, {"authorization": "Bearer sk-nope-00000000000000"}
    )
    assert response.status_code == 401
    response = post(world, "/model", {"prompt": "x"}, {"authorization": f"Bearer {NOTHING}"})
    # A model the key may not use is answered as one that does not exist (issue 9).
    assert response.status_code == 404 and response.json()["code"] == "model_not_found"
    limited = {"authorization": f"Bearer {LIMITED[2]}"}  # 2/minute
    statuses = [
        post(world, "/model/stream", {"prompt": "x"}, limited).status_code for _ in range(2)
    ]
    refused = post(world, "/model", {"prompt": "x"}, limited)
    assert statuses == [200, 200] and refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    error = refused.json()
    assert error["code"] == "rate_limit_exceeded" and 0 < error["retry_after"] <= 30
    # Refused over SSE too, before any event.
    refused = post(
        world, "/model/stream", {"prompt": "x"}, {**limited, "accept": "text/event-stream"}
    )
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/json"


def test_upstream_failure_is_its_status(world: World) -> None:
    world.fake.script(Fault(status=503))
    response = post(world, "/model", {"prompt": "x"})
    assert response.status_code == 503 and response.json()["code"] == "upstream_unavailable"
    assert post(world, "/model", {"prompt": "fine"}).json()["response"] == "fine"


def test_a_client_that_leaves_cancels_the_upstream(world: World) -> None:
    world.fake.script(Fault(latency=30))
    seen = len(world.fake.recorder.requests)
    with pytest.raises(httpx.ReadTimeout):
        post(world, "/model", {"prompt": "too slow"}, timeout=0.5)
    upstream = world.fake.recorder.wait_requests(seen + 1)[-1]
    left = time.monotonic()
    closed = world.fake.recorder.wait_closed(upstream.connection)
    assert closed.closed_at is not None and closed.closed_at - left < 2
    deadline = time.monotonic() + 5
    while not [r for r in world.rows() if (r["door"], r["status"]) == ("simple", 499)]:
        assert time.monotonic() < deadline, "the request that was left is not recorded as 499"
        time.sleep(0.02)


@pytest.mark.parametrize("path", ["/agent/helper", "/agent/helper/stream"])
def test_an_unknown_agent_is_404(world: World, path: str) -> None:
    for headers in (AUTH, SSE):
        response = post(world, path, {"prompt": "hello", "user_id": "user_1"}, headers)
        assert response.status_code == 404
        assert response.json() == {
            "error": "Agent 'helper' not found",
            "code": "agent_not_found",
            "param": "name",
        }
    # Who asks is checked first: an unknown agent is no way to probe without a key.
    assert post(world, path, {"prompt": "hello"}, {}).status_code == 401


def test_wrong_methods_and_paths_answer_in_this_apis_shape(world: World) -> None:
    response = httpx.get(f"{world.url}/model", headers=AUTH)
    assert response.status_code == 405 and isinstance(response.json()["error"], str)
    response = httpx.post(f"{world.url}/v1/chat/completions", headers=AUTH, content=b"{")
    assert isinstance(response.json()["error"], dict)  # the OpenAI door keeps its own shape


def test_the_api_is_in_the_openapi_document(world: World) -> None:
    document = httpx.get(f"{world.url}/openapi.json").json()
    paths, schemas = document["paths"], document["components"]["schemas"]
    for path in ("/model", "/model/stream", "/agent/{name}", "/agent/{name}/stream"):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert schemas[body["$ref"].rsplit("/", 1)[-1]]["required"] == ["prompt"]

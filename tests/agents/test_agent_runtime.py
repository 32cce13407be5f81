"""``POST /agent/message/stream`` (seed 003's agent runtime) and the ``agent_runtime``
provider that calls it: gateway A -> runtime B, both real servers on real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from continuum.testing.fake_upstream import fake_openai
from continuum.testing.server import free_port
from tests.agents.stage import Stage, staged

KEY = "internal-key-for-the-tests-0123456789"
RUNTIME_AGENTS = """
agents:
  - {name: "math", model: "local-text", tools: ["calculator"]}
  - {name: "dropper", model: "gpt-drop"}
  - {name: "busy", model: "local-text", rate_limit: "1/minute"}
"""


def remote(model_id: str, upstream: str, **options: str) -> str:
    """A models.yml entry for a model of the runtime, through the agent_runtime provider."""
    extra = "".join(f", {key}: {value!r}" for key, value in options.items())
    return (
        f'  - {{id: "{model_id}", provider: "agent_runtime", '
        f'upstream_model: "{upstream}"{extra}}}\n'
    )


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """B: agents over the local model, and one over a fake that breaks mid-answer."""
    fake = fake_openai()
    with fake.run_in_thread() as url:
        drop = (
            '  - {id: "gpt-drop", provider: "openai", upstream_model: "fake-model::drop_after=3", '
            f'base_url: "{url}/v1", api_key: "sk-upstream"}}\n'
        )
        root = tmp_path_factory.mktemp("runtime")
        env = {"CONTINUUM_INTERNAL_KEY": KEY}
        with staged(root, RUNTIME_AGENTS, env=env, models=drop) as stage:
            yield stage


def post(stage: Stage, body: dict[str, Any], key: str | None = KEY) -> httpx.Response:
    headers = {"x-internal-auth": key} if key is not None else {}
    return httpx.post(f"{stage.url}/agent/message/stream", json=body, headers=headers)


def events(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [line for line in response.text.split("\n\n") if line]
    assert all(frame.startswith("data: ") for frame in frames)
    return [orjson.loads(frame.removeprefix("data: ")) for frame in frames]


def test_a_session_message_streams_the_agents_reply(runtime: Stage) -> None:
    body = {"session_id": "s-1", "agent": "math", "message": "what is 12*(3+4)?"}
    response = post(runtime, {**body, "user_id": "alice"})
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    *pieces, final = events(response)
    assert {(e["type"], e["session_id"], e["is_final"]) for e in pieces} == {
        ("assistant_message", "s-1", False)
    }
    assert "".join(e["token"] for e in pieces) == "12*(3+4) = 84"
    records = runtime.records_of(request_id)
    assert [(r["user_id"], r["door"], r["model"]) for r in records] == [
        ("user:alice", "agent_runtime", "local-text")
    ] * 2
    prompt = sum(r["prompt_tokens"] for r in records)
    completion = sum(r["completion_tokens"] for r in records)
    assert final == {
        "type": "assistant_message",
        "session_id": "s-1",
        "token": "",
        "is_final": True,
        "finish_reason": "stop",
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def test_the_conversation_and_any_model_may_be_given(runtime: Stage) -> None:
    messages = [
        {"role": "user", "content": "what is 2+2?"},
        {"role": "assistant", "content": "2+2 = 4"},
        {"role": "user", "content": "and 3*3?"},
    ]
    *pieces, _ = events(post(runtime, {"model": "agent/math", "messages": messages}))
    assert "".join(e["token"] for e in pieces) == "3*3 = 9"
    *pieces, final = events(post(runtime, {"model": "local-text", "message": "ping"}))
    assert pieces and final["is_final"] and final["session_id"] is None


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY[:-1], KEY + "x"])
def test_a_caller_without_the_internal_key_is_refused(runtime: Stage, key: str | None) -> None:
    response = post(runtime, {"agent": "math", "message": "what is 1+1?"}, key=key)
    assert response.status_code == 401
    assert response.json() == {
        "type": "error",
        "content": "This endpoint needs the internal key in the X-Internal-Auth header",
        "code": "invalid_internal_key",
        "status": 401,
    }


def test_without_an_internal_key_the_endpoint_is_off(tmp_path: Path) -> None:
    with staged(tmp_path, 'agents: [{name: "math", model: "local-text"}]') as stage:
        response = post(stage, {"agent": "math", "message": "hi"})
    assert response.status_code == 403
    assert response.json()["code"] == "internal_disabled"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"agent": "math"}', 400, "invalid_value"),
        (b'{"agent": "math", "model": "local-text", "message": "hi"}', 400, "invalid_value"),
        (b'{"agent": "math", "message": "hi", "messages": []}', 400, "invalid_value"),
        (b'{"agent": "math", "message": "hi", "colour": "red"}', 400, "invalid_value"),
        (b'{"agent": "no such/agent", "message": "hi"}', 400, "invalid_value"),
        (b'{"agent": "nobody", "message": "hi"}', 404, "model_not_found"),
    ],
)
def test_bad_requests_get_the_runtimes_error_shape(
    runtime: Stage, body: bytes, status: int, code: str
) -> None:
    response = httpx.post(
        f"{runtime.url}/agent/message/stream", content=body, headers={"x-internal-auth": KEY}
    )
    assert response.status_code == status
    error = response.json()
    assert (error["type"], error["code"], error["status"]) == ("error", code, status)
    assert error["content"]


def test_a_failure_mid_reply_ends_the_stream_with_an_error(runtime: Stage) -> None:
    # The fake repeats the prompt word by word and breaks after two words.
    response = post(runtime, {"agent": "dropper", "message": "one two three four five"})
    *pieces, last = events(response)
    assert [e["token"] for e in pieces] == ["one", " two"]
    assert last["type"] == "error" and last["code"] == "upstream_error"
    assert not any(e.get("is_final") for e in pieces)


@pytest.fixture(scope="module")
def gateway(runtime: Stage, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    """A: the runtime's agents as models, through the agent_runtime provider.

    ``remote-math`` finds the runtime through seed 003's ``GATEWAY__AGENT_URL``; the
    others name it in ``base_url``.
    """
    models = (
        remote("remote-math", "agent/math")
        + remote("remote-busy", "agent/busy", base_url=runtime.url)
        + remote("remote-dropper", "agent/dropper", base_url=runtime.url)
        + remote("remote-wrong-key", "agent/math", base_url=runtime.url, api_key="not-the-key")
        + remote("remote-nothing", "agent/nobody", base_url=runtime.url)
        + remote("remote-down", "agent/math", base_url=f"http://127.0.0.1:{free_port()}")
    )
    env = {"GATEWAY__INTERNAL_API_KEY": KEY, "GATEWAY__AGENT_URL": runtime.url}
    root = tmp_path_factory.mktemp("gateway")
    with staged(root, "agents: []\n", env=env, models=models) as stage:
        yield stage


def test_the_gateway_answers_with_the_runtimes_agent(gateway: Stage, runtime: Stage) -> None:
    with gateway.client() as client:
        reply = client.chat.completions.create(
            model="remote-math",
            messages=[{"role": "user", "content": "what is 12*(3+4)?"}],
            user="bob",
        )
    assert reply.choices[0].message.content == "12*(3+4) = 84"
    assert reply.usage is not None
    (mine,) = [r for r in gateway.ledger() if r["request_id"] == reply.id]
    assert (mine["user_id"], mine["model"]) == ("full", "remote-math")
    assert mine["prompt_tokens"] + mine["completion_tokens"] == reply.usage.total_tokens
    assert mine["deployment"].startswith("agent_runtime/agent/math")
    # The runtime recorded each model call for the end user the client named.
    records = [r for r in runtime.ledger() if r["user_id"] == "user:bob"]
    assert [(r["user_id"], r["door"]) for r in records] == [("user:bob", "agent_runtime")] * 2
    assert sum(r["prompt_tokens"] + r["completion_tokens"] for r in records) == (
        reply.usage.total_tokens
    )


def test_the_gateway_streams_the_runtimes_reply(gateway: Stage) -> None:
    with gateway.client() as client:
        chunks = list(
            client.chat.completions.create(
                model="remote-math",
                messages=[{"role": "user", "content": "what is 2**10?"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == "2**10 = 1024" and len(pieces) > 1
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("remote-wrong-key", 502, "upstream_rejected"),
        ("remote-nothing", 502, "upstream_rejected"),
        ("remote-down", 502, "upstream_error"),
    ],
)
def test_runtime_failures_are_mapped_like_any_provider(
    gateway: Stage, model: str, status: int, code: str
) -> None:
    with gateway.client() as client, pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == status
    assert failed.value.body["code"] == code  # type: ignore[index]


def test_the_runtimes_limit_is_the_gateways_upstream_limit(gateway: Stage) -> None:
    with gateway.client() as client:
        client.chat.completions.create(
            model="remote-busy", messages=[{"role": "user", "content": "hi"}]
        )
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(
                model="remote-busy", messages=[{"role": "user", "content": "hi"}]
            )
    assert refused.value.body["code"] == "upstream_rate_limited"  # type: ignore[index]
    assert "The agent 'busy' is busy" in str(refused.value)


def test_a_runtime_failing_mid_reply_fails_the_gateways_stream(gateway: Stage) -> None:
    with gateway.client() as client:
        stream = client.chat.completions.create(
            model="remote-dropper",
            messages=[{"role": "user", "content": "one two three four five"}],
            stream=True,
        )
        pieces: list[str] = []
        with pytest.raises(openai.APIError) as failed:
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
    assert pieces == ["one", " two"]
    assert failed.value.body == {  # B's error event, mapped by its status (502)
        # Each gateway names only its own public model ids (issue 9).
        "message": "The upstream of 'remote-dropper' answered 502: "
        "The upstream of 'gpt-drop' connection failed (ClientPayloadError)",
        "type": "upstream_error",
        "param": None,
        "code": "upstream_error",
    }

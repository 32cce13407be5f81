"""``WS /model/ws`` and ``WS /agent/{name}/ws`` (seed 001) with the ``websockets`` client.

``{"prompt", "user_id"}`` in; ``{"type": "chunk", "content"}`` messages, then
``{"type": "complete", "result": {"response", "usage"}}``, or
``{"type": "error", "error": "…"}``. The
world's default model is the fake upstream, which answers with the prompt's words.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect

from continuum.testing.fake_upstream import Fault
from tests.doors.world import KEY, LIMITED, NOTHING, World
from tests.doors.ws.answers import message, prompt_answer

MODEL = "/model/ws"


def prompt(text: str, **extra: Any) -> str:
    return orjson.dumps({"prompt": text, **extra}).decode()


def joined(messages: list[dict[str, Any]]) -> str:
    return "".join(m["content"] for m in messages if m.get("type") == "chunk")


async def test_chunks_then_the_complete_result(world: World) -> None:
    async with connect(f"{world.ws}{MODEL}?token={KEY}") as ws:
        await ws.send(prompt("Ciao WebSocket from the seed", user_id="user_1"))
        messages = await prompt_answer(ws)
    chunks, complete = messages[:-1], messages[-1]
    assert [set(c) for c in chunks] == [{"type", "content"}] * len(chunks)
    assert len(chunks) == 5 and joined(chunks) == "Ciao WebSocket from the seed"
    assert complete == {
        "type": "complete",
        "result": {
            "response": "Ciao WebSocket from the seed",
            "usage": {"total_tokens": 10, "prompt_tokens": 5, "completion_tokens": 5},
        },
    }
    upstream = world.fake.recorder.last.json()
    assert upstream["messages"] == [{"role": "user", "content": "Ciao WebSocket from the seed"}]
    assert upstream["user"] == "user_1"  # the end user, passed on as OpenAI's ``user``
    records = [r for r in world.rows() if r["door"] == "simple-ws" and r["status"] == 200]
    assert records and records[-1]["model"] == "remote" and records[-1]["user_id"] == "full"


async def test_many_prompts_on_one_connection_in_order(world: World) -> None:
    async with connect(
        f"{world.ws}{MODEL}", additional_headers={"Authorization": f"Bearer {KEY}"}
    ) as ws:
        for i in range(10):
            await ws.send(prompt(f"first {i}"))
            assert joined(await prompt_answer(ws)) == f"first {i}"
        for i in range(3):  # sent at once: answered one after another
            await ws.send(prompt(f"second {i}"))
        answers = [await prompt_answer(ws) for _ in range(3)]
    assert [a[-1]["result"]["response"] for a in answers] == [f"second {i}" for i in range(3)]


async def test_bad_input_is_an_error_message_and_the_connection_stays_open(world: World) -> None:
    async with connect(f"{world.ws}{MODEL}?token={KEY}") as ws:
        await ws.send("{not json")
        (error,) = await prompt_answer(ws)
        assert error["code"] == "invalid_json" and "not valid JSON" in error["error"]
        await ws.send(orjson.dumps({"user_id": "u"}).decode())
        (error,) = await prompt_answer(ws)
        assert error["param"] == "prompt" and "required" in error["error"].lower()
        await ws.send(prompt("   "))
        (error,) = await prompt_answer(ws)
        assert error == {
            "type": "error",
            "error": "'prompt' must not be empty",
            "code": "missing_prompt",
            "param": "prompt",
        }
        await ws.send(prompt("x", user_id=12))
        assert (await prompt_answer(ws))[0]["param"] == "user_id"
        await ws.send(prompt("still served"))
        assert joined(await prompt_answer(ws)) == "still served"


async def test_keys_bad_forbidden_and_per_message(world: World) -> None:
    async with connect(f"{world.ws}{MODEL}") as ws:
        await ws.send(prompt("no key"))
        (error,) = await prompt_answer(ws)
        assert error["code"] == "invalid_api_key"
        await ws.send(prompt("bad key", token="sk-not-a-key-0000000000000"))
        (error,) = await prompt_answer(ws)
        assert error == {
            "type": "error",
            "error": "Incorrect API key provided.",
            "code": "invalid_api_key",
        }
        await ws.send(prompt("no models for this key", token=NOTHING))
        (error,) = await prompt_answer(ws)
        assert (error["code"], error["param"]) == ("model_not_found", "model")
        await ws.send(prompt("with a key in the message", token=KEY))
        assert joined(await prompt_answer(ws)) == "with a key in the message"


async def test_over_the_limit_the_error_carries_retry_after(world: World) -> None:
    async with connect(f"{world.ws}{MODEL}?token={LIMITED[1]}") as ws:
        for _ in range(2):
            await ws.send(prompt("within"))
            assert joined(await prompt_answer(ws)) == "within"
        await ws.send(prompt("over"))
        (error,) = await prompt_answer(ws)
        assert error["code"] == "rate_limit_exceeded" and error["error"].startswith("Rate limit")
        assert 0 < error["retry_after"] <= 30


async def test_upstream_failures(world: World) -> None:
    async with connect(f"{world.ws}{MODEL}?token={KEY}") as ws:
        world.fake.script(Fault(status=503))
        await ws.send(prompt("refused"))
        (error,) = await prompt_answer(ws)
        assert error["code"] == "upstream_unavailable"
        world.fake.script(Fault(drop_after=2))
        await ws.send(prompt("one two three four five"))
        messages = await prompt_answer(ws)
        assert "error" in messages[-1] and messages[-1]["code"].startswith("upstream")
        assert all(m["type"] == "chunk" for m in messages[:-1])  # never "complete"
        await ws.send(prompt("and then fine"))
        assert (await prompt_answer(ws))[-1]["result"]["response"] == "and then fine"


async def test_a_client_that_leaves_mid_stream_cancels_the_upstream(world: World) -> None:
    world.fake.script(Fault(chunks=200, chunk_delay=0.05))
    seen = len(world.fake.recorder.requests)
    async with connect(f"{world.ws}{MODEL}?token={KEY}") as ws:
        await ws.send(prompt("on and on"))
        upstream = (await asyncio.to_thread(world.fake.recorder.wait_requests, seen + 1))[-1]
        assert (await message(ws))["type"] == "chunk"
    left = time.monotonic()
    closed = await asyncio.to_thread(world.fake.recorder.wait_closed, upstream.connection)
    assert closed.mid_stream and closed.closed_at is not None and closed.closed_at - left < 2
    deadline = time.monotonic() + 5
    while not [r for r in world.rows() if (r["door"], r["status"]) == ("simple-ws", 499)]:
        assert time.monotonic() < deadline, "no 499 record for the prompt that was left"
        await asyncio.sleep(0.02)


async def test_an_unknown_agent_is_an_error_message(world: World) -> None:
    async with connect(f"{world.ws}/agent/helper/ws?token={KEY}") as ws:
        await ws.send(prompt("hello agent"))
        (error,) = await prompt_answer(ws)
        assert error == {
            "type": "error",
            "error": "Agent 'helper' not found",
            "code": "agent_not_found",
            "param": "name",
        }
        await ws.send("{not json")  # the connection still serves (and checks) every message
        assert (await prompt_answer(ws))[0]["code"] == "invalid_json"

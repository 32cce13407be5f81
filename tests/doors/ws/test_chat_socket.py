"""``WS /v1/chat/completions/ws`` (seed 000) with the ``websockets`` client on a real socket.

The answer is the SSE door's chunks, one message each; every failure is the OpenAI
error object (with ``status`` and ``retry_after``), and the connection goes on serving.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from continuum.testing.fake_upstream import Fault
from tests.doors.world import (
    ECHO_ONLY,
    KEY,
    LIMITED,
    MAX_PENDING,
    WORDS,
    World,
    chat,
    with_token,
)
from tests.doors.ws.answers import chat_answer, message, text_of

PATH = "/v1/chat/completions/ws"


def sse_chunks(world: World, body: dict[str, object]) -> list[dict[str, object]]:
    """The same request through the SSE door."""
    response = httpx.post(
        f"{world.url}/v1/chat/completions",
        json={**body, "stream": True},
        headers={"authorization": f"Bearer {KEY}"},
    )
    events = [e.removeprefix("data: ") for e in response.text.split("\n\n") if e]
    assert events[-1] == "[DONE]"
    return [orjson.loads(e) for e in events[:-1]]


async def test_an_answer_is_the_sse_streams_chunks_one_message_each(world: World) -> None:
    body = orjson.loads(chat("local-text", "Tell me about gateways", seed=7))
    async with connect(world.ws + PATH) as ws:
        await ws.send(with_token(chat("local-text", "Tell me about gateways", seed=7), KEY))
        chunks = await chat_answer(ws)
    expected = sse_chunks(world, {**body, **body.pop("settings")})
    # Same objects as SSE, but for the completion's own id and creation time.
    assert len(chunks) == len(expected) > 3
    for got, want in zip(chunks, expected, strict=True):
        assert {**got, "id": "", "created": 0} == {**want, "id": "", "created": 0}
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    row = await world.wait_row(chunks[0]["id"])
    assert (row["door"], row["status"], row["user_id"]) == ("ws", 200, "full")
    assert row["completion_tokens"] == len(chunks) - 1


async def test_settings_are_the_chat_parameters(world: World) -> None:
    async with connect(world.ws + PATH) as ws:
        # max_tokens cuts the answer; include_usage adds the usage chunk after the finish.
        settings = {"max_tokens": 3, "stream_options": {"include_usage": True}}
        await ws.send(with_token(chat("local-text", "Write at length", **settings), KEY))
        chunks = await chat_answer(ws, usage=True)
        assert chunks[-2]["choices"][0]["finish_reason"] == "length"
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3
        # tools: the local model calls the calculator the prompt asks for.
        calculator = {
            "type": "function",
            "function": {
                "name": "calculator",
                "parameters": {
                    "type": "object",
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"],
                },
            },
        }
        await ws.send(with_token(chat("local-text", "What is 12*(3+4)?", tools=[calculator]), KEY))
        chunks = await chat_answer(ws)
        calls = [
            call
            for c in chunks
            for call in c["choices"][0]["delta"].get("tool_calls") or ()
            if c["choices"]
        ]
        assert calls[0]["function"]["name"] == "calculator"
        arguments = "".join(call["function"]["arguments"] for call in calls)
        assert orjson.loads(arguments) == {"expression": "12*(3+4)"}
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
        # Parameters may also stand at the top level, as in an OpenAI body.
        flat = orjson.loads(with_token(chat("local-text", "Write"), KEY)) | {"max_tokens": 2}
        await ws.send(orjson.dumps(flat).decode())
        chunks = await chat_answer(ws)
        assert chunks[-1]["choices"][0]["finish_reason"] == "length"


async def test_one_connection_serves_many_requests_in_order(world: World) -> None:
    async with connect(world.ws + PATH) as ws:
        for i in range(20):
            await ws.send(with_token(chat("local-echo", f"one by one {i}"), KEY))
            assert text_of(await chat_answer(ws)) == f"one by one {i}"
        # Sent at once (as many as may wait), they are answered one after another.
        prompts = [f"prompt number {i}" for i in range(MAX_PENDING)]
        for prompt in prompts:
            await ws.send(with_token(chat("local-echo", prompt), KEY))
        answers = [await chat_answer(ws) for _ in prompts]
    assert [text_of(a) for a in answers] == prompts
    ids = [{c["id"] for c in a} for a in answers]
    assert all(len(i) == 1 for i in ids) and len(set().union(*ids)) == len(prompts)


async def test_a_request_sent_while_another_streams_waits_its_turn(world: World) -> None:
    async with connect(world.ws + PATH) as ws:
        await ws.send(with_token(chat("slow", "first"), KEY))
        first_chunk = await message(ws)  # the slow answer is streaming now
        await ws.send(with_token(chat("local-echo", "second"), KEY))
        rest = await chat_answer(ws)
        second = await chat_answer(ws)
    first = [first_chunk, *rest]
    assert text_of(first) == WORDS  # not interleaved with the second answer
    assert text_of(second) == "second"
    assert {c["id"] for c in first} != {c["id"] for c in second}


async def test_bad_json_and_missing_fields_are_error_objects_and_the_connection_goes_on(
    world: World,
) -> None:
    async with connect(world.ws + PATH) as ws:
        await ws.send("{not json")
        (error,) = await chat_answer(ws)
        assert error["error"]["code"] == "invalid_json"
        assert error["error"]["type"] == "invalid_request_error"
        assert error["error"]["status"] == 400
        await ws.send(orjson.dumps(["a", "list"]).decode())
        assert (await chat_answer(ws))[0]["error"]["status"] == 400
        await ws.send(orjson.dumps({"token": KEY, "messages": []}).decode())
        (error,) = await chat_answer(ws)
        assert (error["error"]["param"], error["error"]["status"]) == ("model", 400)
        await ws.send(orjson.dumps({"token": KEY, "model": "local-echo"}).decode())
        assert (await chat_answer(ws))[0]["error"]["param"] == "messages"
        await ws.send(with_token(chat("local-echo", "x", temperature=9), KEY))
        (error,) = await chat_answer(ws)
        assert error["error"]["param"] == "settings.temperature"
        await ws.send(orjson.dumps({"token": KEY, "settings": 3}).decode())
        assert (await chat_answer(ws))[0]["error"]["param"] == "settings"
        await ws.send(b'{"token": "\xff\xfe"}')  # a binary message that is not UTF-8
        assert (await chat_answer(ws))[0]["error"]["code"] == "invalid_json"
        await ws.send(with_token(chat("local-echo", "still here"), KEY))
        assert text_of(await chat_answer(ws)) == "still here"


async def test_keys_per_message_on_the_upgrade_or_in_the_query(world: World) -> None:
    async with connect(world.ws + PATH) as ws:
        await ws.send(chat())  # no key anywhere
        (error,) = await chat_answer(ws)
        assert (error["error"]["code"], error["error"]["status"]) == ("invalid_api_key", 401)
        await ws.send(with_token(chat(), "sk-not-a-key-at-all-000000"))
        (error,) = await chat_answer(ws)
        assert error["error"]["message"] == "Incorrect API key provided."
        await ws.send(with_token(chat(content="per message"), KEY))
        assert text_of(await chat_answer(ws)) == "per message"
    headers = {"Authorization": f"Bearer {KEY}"}
    async with connect(world.ws + PATH, additional_headers=headers) as ws:
        await ws.send(chat(content="from the upgrade"))
        assert text_of(await chat_answer(ws)) == "from the upgrade"
        # A message's own token wins over the connection's.
        await ws.send(with_token(chat("local-text"), ECHO_ONLY))
        assert (await chat_answer(ws))[0]["error"]["code"] == "model_not_found"
    async with connect(f"{world.ws}{PATH}?token={KEY}") as ws:
        await ws.send(chat(content="from the query"))
        assert text_of(await chat_answer(ws)) == "from the query"


async def test_forbidden_and_unknown_models(world: World) -> None:
    async with connect(world.ws + PATH) as ws:
        await ws.send(with_token(chat("local-text"), ECHO_ONLY))
        (error,) = await chat_answer(ws)  # a forbidden model looks unknown (issue 9)
        assert error["error"]["code"] == "model_not_found"
        assert (error["error"]["status"], error["error"]["param"]) == (404, "model")
        await ws.send(with_token(chat("no-such-model"), KEY))
        (error,) = await chat_answer(ws)
        assert (error["error"]["code"], error["error"]["status"]) == ("model_not_found", 404)
        await ws.send(with_token(chat("local-echo", "allowed"), ECHO_ONLY))
        assert text_of(await chat_answer(ws)) == "allowed"


async def test_over_the_limit_is_a_429_object_with_its_retry_after(world: World) -> None:
    key = LIMITED[0]  # 2/minute
    async with connect(world.ws + PATH) as ws:
        for _ in range(2):
            await ws.send(with_token(chat(), key))
            assert text_of(await chat_answer(ws)) == "hello there"
        await ws.send(with_token(chat(), key))
        (error,) = await chat_answer(ws)
        assert error["error"]["type"] == "rate_limit_error"
        assert (error["error"]["code"], error["error"]["status"]) == ("rate_limit_exceeded", 429)
        assert 0 < error["error"]["retry_after"] <= 30  # the next of 2/minute: 30 s at most
        # Another user on the same connection is not limited by it.
        await ws.send(with_token(chat(content="someone else"), KEY))
        assert text_of(await chat_answer(ws)) == "someone else"
    refused = [r for r in world.rows() if r["status"] == 429 and r["door"] == "ws"]
    assert refused, "the refusal is in the ledger too"


async def test_upstream_failures_before_and_after_the_first_chunk(world: World) -> None:
    async with connect(world.ws + PATH) as ws:
        world.fake.script(Fault(status=503))
        await ws.send(with_token(chat("remote", "anyone there"), KEY))
        (error,) = await chat_answer(ws)
        assert error["error"]["status"] == 503 and error["error"]["type"] == "upstream_error"
        # The upstream drops its connection after 2 chunks: the chunks, then the error,
        # and no chunk with a finish_reason (a cut answer never looks complete).
        world.fake.script(Fault(drop_after=2))
        await ws.send(with_token(chat("remote", "one two three four five"), KEY))
        chunks = await chat_answer(ws)
        cut = text_of(chunks[:-1])
        assert cut and "one two three four five".startswith(cut) and len(cut) < 23
        assert chunks[-1]["error"]["type"] == "upstream_error"
        assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
        await ws.send(with_token(chat("remote", "fine again"), KEY))
        assert text_of(await chat_answer(ws)) == "fine again"


async def test_a_bug_mid_stream_is_a_server_error_object(world: World) -> None:
    async with connect(world.ws + PATH) as ws:
        await ws.send(with_token(chat("bug"), KEY))
        chunks = await chat_answer(ws)
        assert text_of(chunks[:-1]) == "a b"
        error = chunks[-1]["error"]
        assert error["type"] == "server_error" and "bug" not in error["message"]
        await ws.send(with_token(chat(content="after the bug"), KEY))
        assert text_of(await chat_answer(ws)) == "after the bug"


@pytest.mark.parametrize("when", ["mid-stream", "before the first chunk"])
async def test_a_client_that_leaves_cancels_the_upstream(world: World, when: str) -> None:
    fault = Fault(chunks=200, chunk_delay=0.05)
    if when != "mid-stream":
        fault = Fault(latency=30)
    world.fake.script(fault)
    seen = len(world.fake.recorder.requests)
    cut_before = sum(1 for r in world.rows() if (r["door"], r["status"]) == ("ws", 499))
    async with connect(world.ws + PATH) as ws:
        await ws.send(with_token(chat("remote", "on and on"), KEY))
        request = (await asyncio.to_thread(world.fake.recorder.wait_requests, seen + 1))[-1]
        completion_id = None
        if when == "mid-stream":
            first = await message(ws)
            completion_id = first["id"]
            await message(ws)
    left = time.monotonic()
    closed = await asyncio.to_thread(world.fake.recorder.wait_closed, request.connection)
    assert closed.closed_at is not None and closed.closed_at - left < 2.0
    if when == "mid-stream":
        assert closed.mid_stream  # the upstream was cut while still answering
        assert completion_id is not None
        row = await world.wait_row(completion_id)
        assert (row["status"], row["error_code"], row["door"]) == (499, "client_closed", "ws")
        assert row["completion_tokens"] >= 2
    deadline = time.monotonic() + 5
    while sum(1 for r in world.rows() if (r["door"], r["status"]) == ("ws", 499)) == cut_before:
        assert time.monotonic() < deadline, "the cancelled request was never recorded as 499"
        await asyncio.sleep(0.02)

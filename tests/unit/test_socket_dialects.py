"""The WebSocket doors' pieces without a socket: the bounded outbox, seed 000's message
decoding and error object, seed 001's request, encoders and error body."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from continuum.agents.records import AgentDone, AgentResult, AnswerDelta, Iteration
from continuum.core.events import ErrorEvent, Finish, TextDelta, ToolCallDelta, Usage
from continuum.dialects.openai.socket import SocketChunkEncoder, decode_message, socket_error_object
from continuum.dialects.simple.answers import AgentEncoder, PromptEncoder
from continuum.dialects.simple.errors import error_object, stream_error_json
from continuum.dialects.simple.request import PromptMessage, PromptRequest, parse_prompt
from continuum.doors.ws.outbox import Outbox, SlowConsumer
from continuum.errors import (
    InvalidRequest,
    MalformedJSON,
    RateLimited,
    SchemaViolation,
    UpstreamError,
)


class Client:
    """The outbox's ``send``: records texts; ``stall()`` makes it stop taking them."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.reading = asyncio.Event()
        self.reading.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.reading.wait()
        self.texts.append(message["text"])


async def test_the_outbox_sends_in_order_without_making_a_door_wait() -> None:
    client = Client()
    box = Outbox(client.send, limit=64, patience=5)
    writer = asyncio.create_task(box.run())
    assert [box.put(f'"{i}"'.encode()) for i in range(10)] == [False] * 10  # 30 bytes held
    big = b'"' + b"x" * 200 + b'"'
    assert box.put(big) is True  # over the limit: the door waits for room...
    await box.room()  # ...which a client that keeps up gives at once
    assert client.texts == [f'"{i}"' for i in range(10)] + [big.decode()]
    assert box.held == 0
    writer.cancel()


async def test_a_client_that_stops_reading_is_a_slow_consumer_after_the_patience() -> None:
    client = Client()
    box = Outbox(client.send, limit=64, patience=0.05)
    writer = asyncio.create_task(box.run())
    client.reading.clear()
    frames = 0
    while not box.put(b'"0123456789"'):
        frames += 1
    assert frames == 5  # at most the limit plus one frame is ever held
    with pytest.raises(SlowConsumer):
        await box.room()
    writer.cancel()


async def test_a_client_that_catches_up_within_the_patience_is_not_dropped() -> None:
    client = Client()
    box = Outbox(client.send, limit=16, patience=5)
    writer = asyncio.create_task(box.run())
    client.reading.clear()
    while not box.put(b'"slow"'):
        pass
    asyncio.get_running_loop().call_soon(client.reading.set)
    await box.room()
    writer.cancel()


def test_seed_000_messages_split_into_key_settings_and_body() -> None:
    message = decode_message(
        b'{"token": "k", "model": "m", "messages": [{"role": "user", "content": "hi"}],'
        b' "settings": {"temperature": 0.7, "stream": false, "max_tokens": 5}, "top_p": 0.5}'
    )
    assert message.token == "k"
    request = message.request()
    assert request.stream is True  # whatever the settings say: a WebSocket answer streams
    assert (request.temperature, request.max_tokens, request.top_p) == (0.7, 5, 0.5)
    assert request.to_core("id").params.max_tokens == 5


@pytest.mark.parametrize(
    ("raw", "error", "param"),
    [
        (b"{", MalformedJSON, None),
        (b"\xff", MalformedJSON, None),
        (b"[]", SchemaViolation, None),
        (b'{"token": 5}', SchemaViolation, "token"),
        (b'{"settings": []}', SchemaViolation, "settings"),
    ],
)
def test_seed_000_messages_that_cannot_be_decoded(
    raw: bytes, error: type[Exception], param: str | None
) -> None:
    with pytest.raises(error) as raised:
        decode_message(raw)
    assert getattr(raised.value, "param", None) == param


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": [{"role": "cat", "content": "x"}]}, "messages.0.role"),
        ({"model": "m", "messages": [], "settings": {"top_p": 3}}, "messages"),
        (
            {"model": "m", "messages": [{"role": "user"}], "settings": {"top_p": 3}},
            "settings.top_p",
        ),
        ({"model": "m", "messages": [{"role": "user"}], "top_p": 3}, "top_p"),
    ],
)
def test_schema_errors_name_the_field_where_the_client_put_it(
    message: dict[str, Any], param: str
) -> None:
    with pytest.raises(SchemaViolation) as raised:
        decode_message(orjson.dumps(message)).request()
    assert raised.value.param == param and f"'{param}'" in raised.value.message


def test_seed_000_answers_end_without_done_and_fail_with_status_and_retry_after() -> None:
    encoder = SocketChunkEncoder("chatcmpl-1", 1, "m", include_usage=True)
    first = orjson.loads(encoder.encode(TextDelta("Hi")) or b"")
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "Hi"}
    assert encoder.end() is None
    limited = RateLimited("slow down", retry_after=2.25, states=())
    body = orjson.loads(encoder.error(limited))
    assert body == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
            "status": 429,
            "retry_after": 2.25,
        }
    }
    assert socket_error_object(UpstreamError("gone"))["error"]["retry_after"] is None


def test_seed_001_requests() -> None:
    request = parse_prompt(b'{"prompt": "hi", "user_id": "u", "extra": 1}', PromptRequest)
    core = request.to_core("m", "prompt-1", stream=False)
    assert (core.model, core.user, core.stream, core.messages[0].text) == ("m", "u", False, "hi")
    assert parse_prompt(b'{"prompt": "hi", "user_id": ""}', PromptRequest).user_id is None
    assert parse_prompt(b'{"prompt": "hi", "token": "k"}', PromptMessage).token == "k"
    for raw in (
        b"",
        b"{",
        b"{}",
        b'{"prompt": ""}',
        b'{"prompt": null}',
        b'{"prompt": "x", "user_id": 1}',
    ):
        with pytest.raises(InvalidRequest) as raised:
            parse_prompt(raw, PromptRequest)
        assert raised.value.status == 400
    with pytest.raises(InvalidRequest):
        parse_prompt(orjson.dumps({"prompt": "x", "user_id": "u" * 257}), PromptRequest)


def test_seed_001_prompt_answers() -> None:
    encoder = PromptEncoder()
    frames = [
        encoder.encode(event)
        for event in (
            TextDelta("Ciao"),
            TextDelta(""),
            TextDelta(" mondo"),
            TextDelta("other choice", choice=1),
            ToolCallDelta(0, "{}", "call_1", "tool"),
            Finish("stop"),
            Usage(3, 2),
        )
    ]
    assert [orjson.loads(f) for f in frames if f] == [
        {"type": "chunk", "content": "Ciao"},
        {"type": "chunk", "content": " mondo"},
    ]
    assert orjson.loads(encoder.end()) == {
        "type": "complete",
        "result": {
            "response": "Ciao mondo",
            "usage": {"total_tokens": 5, "prompt_tokens": 3, "completion_tokens": 2},
        },
    }


def test_seed_001_agent_answers() -> None:
    usage = Usage(10, 4)
    result = AgentResult(
        "math", "2+2?", "4", (Iteration(1, "4", (), usage, "stop"),), usage, "stop"
    )
    encoder = AgentEncoder()
    assert orjson.loads(encoder.encode(AnswerDelta("4")) or b"") == {
        "type": "chunk",
        "content": "4",
    }
    assert encoder.encode(ErrorEvent(UpstreamError("x"))) is None  # relay sends error frames
    assert encoder.end() is None  # no result, no complete message (the run failed)
    assert encoder.encode(AgentDone(result)) is None
    complete = orjson.loads(encoder.end() or b"")
    assert complete == {"type": "complete", "result": result.to_dict()}
    assert set(complete["result"]) >= {"prompt", "response", "iterations", "usage"}


def test_seed_001_errors() -> None:
    limited = RateLimited("Rate limit reached", retry_after=1.23456)
    assert error_object(limited) == {
        "error": "Rate limit reached",
        "code": "rate_limit_exceeded",
        "retry_after": 1.235,
    }
    assert orjson.loads(stream_error_json(InvalidRequest("bad", param="prompt"))) == {
        "type": "error",
        "error": "bad",
        "code": "invalid_request",
        "param": "prompt",
    }

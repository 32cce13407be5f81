"""The agent-runtime stream with bytes alone: the server's encoder, the provider's decoder."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.types import ChatRequest, Message, ToolCall
from continuum.dialects.agent_runtime import RuntimeEncoder
from continuum.errors import (
    ContinuumError,
    RateLimited,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
)
from continuum.providers.agent_runtime.decode import RuntimeDecoder
from continuum.providers.agent_runtime.wire import error_message, message_body


def frame(payload: object) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def piece(token: str) -> dict[str, object]:
    return {"type": "assistant_message", "session_id": "s", "token": token, "is_final": False}


FINAL = {
    "type": "assistant_message",
    "session_id": "s",
    "token": "",
    "is_final": True,
    "finish_reason": "length",
    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
}


def decode(data: bytes, step: int | None = None) -> tuple[list[Event], RuntimeDecoder]:
    decoder = RuntimeDecoder()
    events: list[Event] = []
    size = step or len(data) or 1
    for start in range(0, len(data), size):
        events += decoder.feed(data[start : start + size])
    return events, decoder


@pytest.mark.parametrize("step", [None, 1, 7])
def test_a_reply_decodes_in_pieces_of_any_size(step: int | None) -> None:
    data = frame(piece("Hel")) + frame(piece("lo")) + b": keep-alive\n\n" + frame(FINAL)
    events, decoder = decode(data, step)
    assert events == [TextDelta("Hel"), TextDelta("lo"), Finish("length"), Usage(7, 3)]
    assert decoder.done and decoder.failure is None


def test_nothing_is_read_after_the_final_message() -> None:
    events, decoder = decode(frame(FINAL) + frame(piece("late")))
    assert events == [Finish("length"), Usage(7, 3)] and decoder.done
    assert decoder.feed(frame(piece("later"))) == []


def test_other_event_types_and_empty_tokens_are_skipped() -> None:
    data = frame({"type": "iteration", "index": 1}) + frame(piece("")) + frame(piece("x"))
    events, decoder = decode(data)
    assert events == [TextDelta("x")] and not decoder.done


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (401, UpstreamRejected, "rejected the gateway's credentials (401)"),
        (404, UpstreamRejected, "answered 404: no luck"),
        (429, UpstreamRateLimited, "answered 429: no luck"),
        (500, UpstreamError, "answered 500: no luck"),
        (504, UpstreamTimeout, "answered 504: no luck"),
        (None, UpstreamError, "failed mid-stream: no luck"),
        ("502", UpstreamError, "failed mid-stream: no luck"),
    ],
)
def test_an_error_event_is_mapped_by_its_status(
    status: object, kind: type[ContinuumError], says: str
) -> None:
    error = {"type": "error", "content": "no luck", "code": "x", "status": status}
    events, decoder = decode(frame(piece("a")) + frame(error) + frame(piece("b")))
    assert events == [TextDelta("a")]
    assert type(decoder.failure) is kind
    assert decoder.failure is not None
    assert decoder.failure.message == f"agent_runtime upstream {says}"


@pytest.mark.parametrize(
    "data",
    [
        b"data: {not json\n\n",
        frame(["a", "list"]),
        frame({"type": "assistant_message", "token": 5, "is_final": False}),
        frame({**FINAL, "usage": {"prompt_tokens": "many"}}),
        b"data: " + b"x" * (1 << 21),
    ],
)
def test_a_broken_stream_is_an_upstream_error(data: bytes) -> None:
    events, decoder = decode(data)
    assert events == []
    assert isinstance(decoder.failure, UpstreamError)
    assert decoder.failure.message.startswith("agent_runtime upstream sent")


def test_error_bodies_give_their_message() -> None:
    assert error_message({"type": "error", "content": "bad key", "code": "x"}) == "bad key"
    assert error_message({"detail": "Not Found"}) == "Not Found"
    assert error_message({"error": {"message": "openai style"}}) == "openai style"
    assert error_message({"error": "plain"}) == "plain"
    assert error_message(["no"]) is None and error_message({}) is None


def test_the_request_body_carries_the_conversation_and_the_user() -> None:
    request = ChatRequest(
        model="remote",
        messages=(
            Message("user", "2+2?"),
            Message("assistant", None, tool_calls=(ToolCall("c1", "calc", '{"e":"2+2"}'),)),
            Message("tool", "4", tool_call_id="c1"),
        ),
        user="alice",
        request_id="chatcmpl-1",
    )
    assert message_body(request, "agent/math") == {
        "session_id": "chatcmpl-1",
        "model": "agent/math",
        "messages": [
            {"role": "user", "content": "2+2?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "calc", "arguments": '{"e":"2+2"}'},
                    }
                ],
            },
            {"role": "tool", "content": "4", "tool_call_id": "c1"},
        ],
        "user_id": "alice",
    }
    assert "user_id" not in message_body(ChatRequest("m", (Message("user", "hi"),)), "m")


def encode(events: list[Event], session: str | None = "s") -> bytes:
    """What the runtime door sends for ``events``: each frame as one SSE data event."""
    encoder = RuntimeEncoder(session)
    out = b""
    for event in events:
        if isinstance(event, ErrorEvent):
            return out + b"data: " + encoder.error(event.error) + b"\n\n"
        encoded = encoder.encode(event)
        if encoded is not None:
            out += b"data: " + encoded + b"\n\n"
    return out + b"data: " + encoder.end() + b"\n\n"


@given(
    texts=st.lists(st.text(min_size=1), max_size=8),
    usage=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
    finish=st.sampled_from(["stop", "length"]),
    step=st.integers(1, 64),
)
def test_what_the_runtime_encodes_the_provider_decodes(
    texts: list[str], usage: tuple[int, int], finish: str, step: int
) -> None:
    sent: list[Event] = [TextDelta(t) for t in texts]
    sent += [ToolCallDelta(0, "{}", "c", "calc"), Finish(finish), Usage(*usage)]
    events, decoder = decode(encode(sent), step)
    assert events == [TextDelta(t) for t in texts] + [Finish(finish), Usage(*usage)]
    assert decoder.done


def test_a_failure_encoded_by_the_runtime_is_decoded_with_its_status() -> None:
    refused = RateLimited("slow down", retry_after=3)
    events, decoder = decode(encode([TextDelta("a"), ErrorEvent(refused)]))
    assert events == [TextDelta("a")]
    assert isinstance(decoder.failure, UpstreamRateLimited)
    assert "slow down" in decoder.failure.message
    assert not decoder.done

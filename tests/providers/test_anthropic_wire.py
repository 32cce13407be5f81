"""Anthropic translation both ways, checked against the documented examples."""

from __future__ import annotations

from continuum.core.events import Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.types import ChatRequest, ContentPart, Message, SamplingParams, Tool, ToolCall
from continuum.errors import UpstreamUnavailable
from continuum.providers.anthropic.decode import EventDecoder
from continuum.providers.anthropic.wire import chat_body, error_message

# The "Basic streaming request" example of https://docs.anthropic.com/en/docs/build-with-claude/streaming
BASIC = b"""event: message_start
data: {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-opus-4-20250514", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}

event: message_stop
data: {"type": "message_stop"}

"""

# From the same page, "Streaming request with tool use" (abridged to its tool block).
TOOL = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4-20250514","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"San Fra"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

"""


def _decode(raw: bytes, size: int) -> tuple[list[object], EventDecoder]:
    decoder = EventDecoder()
    events: list[object] = []
    for start in range(0, len(raw), size):
        events += decoder.feed(raw[start : start + size])
    return events, decoder


def test_basic_stream_any_split() -> None:
    for size in (1, 13, 4096):
        events, decoder = _decode(BASIC, size)
        assert events == [TextDelta("Hello"), TextDelta("!"), Finish("stop"), Usage(25, 15)]
        assert decoder.done


def test_tool_use_stream() -> None:
    events, _ = _decode(TOOL, 50)
    assert events == [
        ToolCallDelta(0, "", "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        ToolCallDelta(0, '{"location": "San Fra'),
        ToolCallDelta(0, 'ncisco, CA"}'),
        Finish("tool_calls"),
        Usage(472, 89),
    ]


def test_error_event_and_max_tokens() -> None:
    # https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events
    decoder = EventDecoder()
    decoder.feed(
        b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    )
    assert isinstance(decoder.failure, UpstreamUnavailable)
    limited = EventDecoder()
    assert limited.feed(
        b'data: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":3}}\n\n'
    ) == [
        Finish("length"),
        Usage(0, 3),
    ]
    assert error_message({"type": "error", "error": {"type": "x", "message": "bad"}}) == "bad"


def test_the_stop_sequence_that_ended_an_answer_is_kept() -> None:
    decoder = EventDecoder()
    assert decoder.feed(
        b'data: {"type":"message_delta","delta":{"stop_reason":"stop_sequence",'
        b'"stop_sequence":"END"},"usage":{"output_tokens":3}}\n\n'
    ) == [Finish("stop", stop_sequence="END"), Usage(0, 3)]


def test_request_translation() -> None:
    request = ChatRequest(
        model="claude",
        messages=(
            Message("system", "Be brief."),
            Message(
                "user",
                (
                    ContentPart("text", "Look"),
                    ContentPart(
                        "image_url",
                        raw={
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,AAAA"},
                        },
                    ),
                ),
            ),
            Message(
                "assistant",
                None,
                tool_calls=(ToolCall("toolu_1", "get_weather", '{"city":"Paris"}'),),
            ),
            Message("tool", "sunny", tool_call_id="toolu_1"),
            Message("user", "thanks"),
        ),
        params=SamplingParams(temperature=1.5, stop=("END",)),
        tools=(Tool("get_weather", "Weather", {"type": "object"}),),
        tool_choice="required",
        user="u1",
    )
    body = chat_body(request, "claude-x", None)
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 4096 and body["temperature"] == 1.0
    assert body["stop_sequences"] == ["END"] and body["tool_choice"] == {"type": "any"}
    assert body["metadata"] == {"user_id": "u1"}
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}
    ]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
    }
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        {"type": "text", "text": "thanks"},
    ]

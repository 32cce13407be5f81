"""The Anthropic dialect without any transport: bodies to core requests, events to frames."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic.types import Message as AnthropicMessage
from anthropic.types.shared import ErrorResponse

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.json_body import parse_json
from continuum.core.stream import Aggregator
from continuum.core.types import ContentPart, Message, ToolCall
from continuum.dialects.anthropic.errors import error_object, status_and_type
from continuum.dialects.anthropic.events import StreamEncoder
from continuum.dialects.anthropic.message import message_object
from continuum.dialects.anthropic.request import CountTokensRequest, MessagesRequest
from continuum.errors import (
    AuthenticationFailed,
    ClientClosed,
    ContinuumError,
    InternalError,
    InvalidRequest,
    MalformedJSON,
    MethodNotAllowed,
    ModelNotFound,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    SchemaViolation,
    StateUnavailable,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.doors.anthropic.stream_checks import check_events, fold, parse_sse

TOOL = {
    "name": "calculator",
    "description": "Evaluates arithmetic",
    "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}}},
}


def request(**body: Any) -> MessagesRequest:
    base: dict[str, Any] = {
        "model": "m",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return parse_json(orjson.dumps(base | body), MessagesRequest)


def test_a_plain_body_becomes_a_core_request_with_its_sampling() -> None:
    core = request(
        system="be brief",
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        stop_sequences=["END", "STOP"],
        metadata={"user_id": "u-1"},
        output_config={
            "effort": "low",
            "format": {"type": "json_schema", "schema": {"type": "object"}},
        },
        thinking={"type": "enabled", "budget_tokens": 1024},
        stream=True,
    ).to_core("msg_1")
    assert core.messages == (Message("system", "be brief"), Message("user", "hi"))
    params = core.params
    assert (params.max_tokens, params.temperature, params.top_p, params.top_k) == (64, 0.5, 0.9, 40)
    assert params.stop == ("END", "STOP")
    assert core.user == "u-1" and core.stream and core.request_id == "msg_1"
    assert core.response_format == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": {"type": "object"}},
    }
    assert core.extra == {}  # Anthropic-only fields are never passed on


def test_system_blocks_and_multi_part_user_content() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AAA"},
    }
    url_image = {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
    core = request(
        system=[{"type": "text", "text": "one "}, {"type": "text", "text": "two"}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "look"}, image, url_image]},
            {"role": "assistant", "content": [{"type": "text", "text": "I see"}]},
            {"role": "user", "content": [{"type": "text", "text": "and?"}]},
        ],
    ).to_core("msg_1")
    system, user, assistant, last = core.messages
    assert system.role == "system" and system.text == "one two"
    assert isinstance(user.content, tuple)
    text, png, remote = user.content
    assert text == ContentPart("text", "look")
    assert png.raw == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}
    assert remote.raw == {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
    assert assistant == Message("assistant", "I see") and last == Message("user", "and?")


def test_tool_use_and_tool_results_become_calls_and_tool_messages_in_order() -> None:
    core = request(
        tools=[TOOL],
        tool_choice={"type": "any"},
        messages=[
            {"role": "user", "content": "What is 2+2?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": "Let me see."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "calculator",
                        "input": {"expression": "2+2"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "4"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "x"}],
                    },
                    {"type": "text", "text": "Thanks"},
                ],
            },
        ],
    ).to_core("msg_1")
    assert [m.role for m in core.messages] == ["user", "assistant", "tool", "tool", "user"]
    assistant = core.messages[1]
    assert assistant.content == "Let me see."  # the thinking block is dropped
    assert assistant.tool_calls == (ToolCall("toolu_1", "calculator", '{"expression":"2+2"}'),)
    assert core.messages[2] == Message("tool", "4", tool_call_id="toolu_1")
    assert core.messages[3] == Message("tool", "x", tool_call_id="toolu_2")
    assert core.messages[4] == Message("user", "Thanks")
    assert core.tools[0].name == "calculator" and core.tools[0].parameters == TOOL["input_schema"]
    assert core.tool_choice == "required"


@pytest.mark.parametrize(
    ("choice", "core"),
    [
        ({"type": "auto"}, None),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        (
            {"type": "tool", "name": "calculator"},
            {"type": "function", "function": {"name": "calculator"}},
        ),
    ],
)
def test_tool_choice(choice: dict[str, Any], core: object) -> None:
    assert request(tools=[TOOL], tool_choice=choice).to_core("m").tool_choice == core


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"temperature": 1.5}, "temperature"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages.0.content.blocks.0.text.text",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "document"}]}]},
            "messages.0.content.blocks.0",
        ),
        ({"tools": [{"name": "bad name!", "input_schema": {}}]}, "tools.0.name"),
    ],
)
def test_a_bad_body_names_the_field(body: dict[str, Any], param: str) -> None:
    base: dict[str, Any] = {
        "model": "m",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with pytest.raises(SchemaViolation) as raised:
        parse_json(
            orjson.dumps({k: v for k, v in (base | body).items() if v is not None}), MessagesRequest
        )
    assert raised.value.param == param
    assert param in raised.value.message


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools.0"),
        ({"tools": [TOOL], "tool_choice": {"type": "tool"}}, "tool_choice.name"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}],
                    }
                ]
            },
            "messages.0.content.0",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}
                ]
            },
            "messages.0.content.0",
        ),
    ],
)
def test_what_the_gateway_cannot_serve_is_refused_by_name(body: dict[str, Any], param: str) -> None:
    with pytest.raises(SchemaViolation) as raised:
        request(**body).to_core("m")
    assert raised.value.param == param


def test_count_tokens_needs_no_max_tokens() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "system": "s"}
    core = parse_json(orjson.dumps(body), CountTokensRequest).to_core("r")
    assert [m.role for m in core.messages] == ["system", "user"]


def encode(
    events: list[Event], encoder: StreamEncoder | None = None
) -> list[tuple[str, dict[str, Any]]]:
    encoder = encoder or StreamEncoder("msg_abc", "m", 7)
    frames = b""
    for event in events:
        if isinstance(event, ErrorEvent):
            frames += encoder.error(event.error)
            return parse_sse(frames.decode())
        frames += encoder.encode(event) or b""
    return parse_sse((frames + encoder.end()).decode())


def test_a_text_answer_is_the_documented_event_sequence() -> None:
    events = encode(
        [TextDelta("Hello"), TextDelta(""), TextDelta(" world"), Finish("stop"), Usage(9, 2)]
    )
    check_events(events)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["usage"]["input_tokens"] == 7  # announced before the answer
    message = fold(events)
    assert message.content[0].type == "text" and message.content[0].text == "Hello world"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 2)  # the provider's


def test_text_then_tool_calls_open_one_block_each() -> None:
    events = encode(
        [
            TextDelta("Checking."),
            ToolCallDelta(0, id="call_a", name="calculator"),
            ToolCallDelta(0, arguments='{"expression":'),
            ToolCallDelta(0, arguments='"2+2"}'),
            ToolCallDelta(1, id="call_b", name="clock", arguments="{}"),
            Finish("tool_calls"),
            Usage(5, 6),
        ]
    )
    check_events(events)
    message = fold(events)
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    first, second = message.content[1], message.content[2]
    assert first.type == "tool_use" and second.type == "tool_use"
    assert (first.id, first.name, first.input) == ("call_a", "calculator", {"expression": "2+2"})
    assert (second.id, second.name, second.input) == ("call_b", "clock", {})
    assert message.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("finish", "reason", "sequence"),
    [
        (Finish("stop"), "end_turn", None),
        (Finish("stop", stop_sequence="END"), "stop_sequence", "END"),
        (Finish("length"), "max_tokens", None),
        (Finish("tool_calls"), "tool_use", None),
        (Finish("content_filter"), "refusal", None),
    ],
)
def test_stop_reasons(finish: Finish, reason: str, sequence: str | None) -> None:
    events = encode([TextDelta("a"), finish, Usage(1, 1)])
    check_events(events)
    assert events[-2][1]["delta"] == {"stop_reason": reason, "stop_sequence": sequence}
    aggregator = Aggregator()
    for event in (TextDelta("a"), finish, Usage(1, 1)):
        aggregator.add(event)
    whole = AnthropicMessage.model_validate(message_object(aggregator.result(), "msg_x", "m", 1))
    assert (whole.stop_reason, whole.stop_sequence) == (reason, sequence)


def test_a_failure_mid_stream_ends_with_an_error_event_and_no_message_stop() -> None:
    events = encode([TextDelta("a"), TextDelta(" b"), ErrorEvent(UpstreamUnavailable("gone"))])
    check_events(events, complete=False)
    assert events[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "gone"}},
    )


def test_only_the_first_choice_is_encoded() -> None:
    events = encode(
        [
            TextDelta("a"),
            TextDelta("other", choice=1),
            Finish("stop", choice=1),
            Finish("stop"),
            Usage(1, 1),
        ]
    )
    check_events(events)
    assert fold(events).content[0].text == "a"  # type: ignore[union-attr]


def test_the_folded_message_matches_the_stream_of_the_same_events() -> None:
    stream = [
        TextDelta("Hi"),
        ToolCallDelta(0, id="c1", name="f", arguments='{"a":1}'),
        Finish("tool_calls"),
        Usage(3, 4),
    ]
    aggregator = Aggregator()
    for event in stream:
        aggregator.add(event)
    whole = AnthropicMessage.model_validate(message_object(aggregator.result(), "msg_abc", "m", 7))
    streamed = fold(encode(stream))
    assert whole.model_dump() == streamed.model_dump()


def test_arguments_that_are_not_an_object_are_kept_under_input() -> None:
    aggregator = Aggregator()
    for event in (ToolCallDelta(0, id="c", name="f", arguments="not json"), Finish("tool_calls")):
        aggregator.add(event)
    body = message_object(aggregator.result(), "msg_x", "m", 3)
    assert body["content"][0]["input"] == {"input": "not json"}
    assert body["usage"]["input_tokens"] == 3  # no usage came: the prompt's count


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (MalformedJSON("x"), 400, "invalid_request_error"),
        (SchemaViolation("x"), 400, "invalid_request_error"),
        (InvalidRequest("x"), 400, "invalid_request_error"),
        (PayloadTooLarge("x"), 413, "request_too_large"),
        (AuthenticationFailed("x"), 401, "authentication_error"),
        (PermissionDenied("x"), 403, "permission_error"),
        (NotFound("x"), 404, "not_found_error"),
        (ModelNotFound("x"), 404, "not_found_error"),
        (MethodNotAllowed("x"), 405, "invalid_request_error"),
        (RateLimited("x", retry_after=2), 429, "rate_limit_error"),
        (UpstreamRateLimited("x"), 429, "rate_limit_error"),
        (UpstreamUnavailable("x"), 529, "overloaded_error"),
        (StateUnavailable("x"), 529, "overloaded_error"),
        (UpstreamTimeout("x"), 504, "timeout_error"),
        (UpstreamError("x"), 500, "api_error"),
        (UpstreamRejected("x"), 500, "api_error"),
        (InternalError("x"), 500, "api_error"),
        (ClientClosed("x"), 499, "api_error"),
    ],
)
def test_error_statuses_and_types(error: ContinuumError, status: int, kind: str) -> None:
    assert status_and_type(error) == (status, kind)
    body = error_object(error, "msg_1")
    assert body == {"type": "error", "error": {"type": kind, "message": "x"}, "request_id": "msg_1"}
    if kind != "request_too_large":  # Cloudflare's answer: not among the SDK's error objects
        ErrorResponse.model_validate(body)


def test_an_http_layers_own_4xx_keeps_its_status() -> None:
    error = InvalidRequest("unsupported media type")
    error.status = 415
    assert status_and_type(error) == (415, "invalid_request_error")

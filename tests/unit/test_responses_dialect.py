"""The Responses dialect without a server: events in, bytes out; items in, messages out."""

from __future__ import annotations

import itertools
from typing import Any

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.types import Message, ToolCall
from continuum.dialects.responses.events import EventEncoder
from continuum.dialects.responses.items import item_page, messages_of
from continuum.dialects.responses.output import Head, Output
from continuum.dialects.responses.request import CreateResponseRequest
from continuum.errors import UpstreamError
from tests.doors.responses_wire import check_stream, parse_events


def ids() -> Any:
    counter = itertools.count()
    return lambda prefix: f"{prefix}{next(counter)}"


def encode(events: list[Event], **request: Any) -> list[dict[str, Any]]:
    wire = CreateResponseRequest.model_validate({"model": "m", "input": "hi", **request})
    new_id = ids()
    encoder = EventEncoder(Head("resp_1", 1700000000, wire.response_fields()), Output(new_id))
    frames = b""
    for event in events:
        if isinstance(event, ErrorEvent):
            frames += encoder.error(event.error)
        else:
            frames += encoder.encode(event) or b""
    if encoder.failure is None:
        frames += encoder.end() or b""
    frames += encoder.terminal(encoder.final(1700000001))
    return parse_events(frames.decode())


def test_text_then_calls_are_items_in_order() -> None:
    events = encode(
        [
            TextDelta("Let me check."),
            ToolCallDelta(0, '{"city":', id="call_a", name="weather"),
            ToolCallDelta(1, "", id="call_b", name="time"),
            ToolCallDelta(0, '"Rome"}'),
            ToolCallDelta(1, "{}"),
            Finish("tool_calls"),
            Usage(7, 9),
        ]
    )
    final = check_stream(events)
    output = final["output"]
    assert [(i["type"], i.get("name")) for i in output] == [
        ("message", None),
        ("function_call", "weather"),
        ("function_call", "time"),
    ]
    assert output[1]["arguments"] == '{"city":"Rome"}' and output[1]["call_id"] == "call_a"
    assert output[2]["arguments"] == "{}"
    added = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["output_index"] for e in events if e["type"] == "response.output_item.done"]
    assert added == done == [0, 1, 2]
    deltas = [
        (e["output_index"], e["delta"])
        for e in events
        if e["type"] == "response.function_call_arguments.delta"
    ]
    assert deltas == [(1, '{"city":'), (1, '"Rome"}'), (2, "{}")]
    assert final["usage"]["input_tokens"] == 7 and final["usage"]["output_tokens"] == 9


def test_text_after_a_call_opens_a_new_message() -> None:
    final = check_stream(
        encode(
            [
                TextDelta("a"),
                ToolCallDelta(0, "{}", id="c", name="f"),
                TextDelta("b"),
                Finish("stop"),
            ]
        )
    )
    assert [i["type"] for i in final["output"]] == ["message", "function_call", "message"]
    assert final["output"][2]["content"][0]["text"] == "b"


def test_a_failure_as_the_first_event_still_opens_the_stream() -> None:
    events = encode([ErrorEvent(UpstreamError("boom"))])
    final = check_stream(events)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
    ]
    assert final["output"] == [] and final["error"]["message"] == "boom"


def test_other_choices_are_ignored_and_json_text_is_escaped() -> None:
    events = encode([TextDelta('say "hi"\n'), TextDelta("other", choice=1), Finish("stop")])
    final = check_stream(events)
    assert final["output"][0]["content"][0]["text"] == 'say "hi"\n'


def test_items_become_chat_messages() -> None:
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "b", "annotations": [], "logprobs": []}],
        },
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "two"}],
        },
    ]
    assert messages_of(items, "be brief") == (
        Message("system", "be brief"),
        Message("user", "a"),
        Message(
            "assistant", "b", tool_calls=(ToolCall("c1", "f", "{}"), ToolCall("c2", "g", "{}"))
        ),
        Message("tool", "one", tool_call_id="c1"),
        Message("tool", "two", tool_call_id="c2"),
    )


def test_pages_of_items() -> None:
    items = [{"id": f"i{n}"} for n in range(5)]
    page = item_page(items, limit=2, order="asc", after="i1")
    assert [i["id"] for i in page["data"]] == ["i2", "i3"] and page["has_more"]
    last = item_page(items, limit=2, order="desc", after="i1")
    assert [i["id"] for i in last["data"]] == ["i0"] and not last["has_more"]
    empty = item_page(items, limit=2, order="desc", after="i0")
    assert empty["data"] == [] and empty["first_id"] is None

"""``/v1/responses`` driven by the official ``openai`` SDK over a real socket (local models).

Every body and every stream event is validated against the official OpenAI schemas.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ECHO_KEY, FULL_KEY, Running
from tests.doors.responses_wire import check_stream, post_stream, streamed_text
from tests.openapi_schemas import assert_matches

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(gateway: Running) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0) as made:
        yield made


@pytest.fixture
async def async_client(gateway: Running) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0) as made:
        yield made


def create(client: openai.OpenAI, **body: Any) -> dict[str, Any]:
    """``responses.create`` through the SDK; returns the raw body after validating it."""
    raw = client.responses.with_raw_response.create(**body)
    payload: dict[str, Any] = json.loads(raw.text)
    assert_matches("Response", payload)
    assert raw.headers["x-request-id"] == payload["id"]
    return payload


def test_plain_text_input_answers_a_completed_response(client: openai.OpenAI) -> None:
    body = create(client, model="local-echo", input="Hello there, gateway!")
    assert body["object"] == "response" and body["id"].startswith("resp_")
    assert body["status"] == "completed" and body["completed_at"] >= body["created_at"]
    assert body["error"] is None and body["incomplete_details"] is None
    [message] = body["output"]
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["status"] == "completed" and message["id"].startswith("msg_")
    assert message["content"] == [
        {"type": "output_text", "text": "Hello there, gateway!", "annotations": [], "logprobs": []}
    ]
    usage = body["usage"]
    assert usage["output_tokens"] == 5  # "Hello", " there", ",", " gateway", "!"
    assert usage["total_tokens"] == usage["input_tokens"] + 5
    response = client.responses.create(model="local-echo", input="Hello there, gateway!")
    assert response.output_text == "Hello there, gateway!"


def test_the_request_is_echoed_in_the_response(client: openai.OpenAI) -> None:
    body = create(
        client,
        model="local-text",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        instructions="Be brief.",
        temperature=0.5,
        top_p=0.9,
        metadata={"ticket": "T-1"},
        max_output_tokens=500,
        tools=[WEATHER],
        tool_choice="none",
    )
    assert body["instructions"] == "Be brief."
    assert (body["temperature"], body["top_p"]) == (0.5, 0.9)
    assert body["metadata"] == {"ticket": "T-1"}
    assert body["max_output_tokens"] == 500
    assert body["tools"][0]["name"] == "get_weather" and body["tool_choice"] == "none"
    assert body["store"] is True and body["previous_response_id"] is None
    assert [item["type"] for item in body["output"]] == ["message"]  # tool_choice none


def test_streaming_events_are_the_official_ones_and_fold_to_the_same_answer(
    client: openai.OpenAI, gateway: Running
) -> None:
    whole = create(client, model="local-text", input="Tell me about gateways")
    _, events = post_stream(
        gateway.url, FULL_KEY, {"model": "local-text", "input": "Tell me about gateways"}
    )
    final = check_stream(events)
    kinds = [e["type"] for e in events]
    assert kinds[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    text = whole["output"][0]["content"][0]["text"]
    assert streamed_text(events) == text
    assert kinds.count("response.output_text.delta") == whole["usage"]["output_tokens"] > 10
    assert events[-4]["text"] == text == final["output"][0]["content"][0]["text"]
    assert final["status"] == "completed" and final["usage"] == whole["usage"]
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["output"] == []


def test_the_sdk_reads_the_stream_and_the_stream_helper(client: openai.OpenAI) -> None:
    kinds = [
        event.type
        for event in client.responses.create(model="local-echo", input="one two three", stream=True)
    ]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    with client.responses.stream(model="local-text", input="stream with the helper") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text and len(deltas) > 10
    assert final.status == "completed"
    assert client.responses.retrieve(final.id).output_text == final.output_text


def test_max_output_tokens_makes_an_incomplete_response(
    client: openai.OpenAI, gateway: Running
) -> None:
    body = create(client, model="local-text", input="Tell me more", max_output_tokens=16)
    assert body["status"] == "incomplete" and body["completed_at"] is None
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["status"] == "incomplete"
    assert body["usage"]["output_tokens"] == 16
    _, events = post_stream(
        gateway.url,
        FULL_KEY,
        {"model": "local-text", "input": "Tell me more", "max_output_tokens": 16},
    )
    final = check_stream(events)
    assert events[-1]["type"] == "response.incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-2]["item"]["status"] == "incomplete"


def test_a_follow_up_continues_the_previous_response(client: openai.OpenAI) -> None:
    first = client.responses.create(
        model="local-echo", input="My name is Ada.", instructions="Remember names."
    )
    second = client.responses.create(
        model="local-echo", input="What is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    assert second.output_text == "What is my name?"
    # The second response's input is the whole conversation: the first turn's input and
    # output, then its own input (instructions are not carried over).
    items = client.responses.input_items.list(second.id, order="asc")
    raw = client.responses.input_items.with_raw_response.list(second.id, order="asc")
    assert_matches("ResponseItemList", json.loads(raw.text))
    roles = [(item.type, item.role) for item in items.data]  # type: ignore[union-attr]
    assert roles == [("message", "user"), ("message", "assistant"), ("message", "user")]
    texts = [item.content[0].text for item in items.data]  # type: ignore[union-attr]
    assert texts == ["My name is Ada.", "My name is Ada.", "What is my name?"]
    assert items.data[1].id == first.output[0].id
    # local-text's answer is seeded by every message it reads: the context changes it.
    alone = client.responses.create(model="local-text", input="What is my name?")
    followed = client.responses.create(
        model="local-text", input="What is my name?", previous_response_id=first.id
    )
    assert alone.output_text != followed.output_text
    assert followed.usage is not None and alone.usage is not None
    assert followed.usage.input_tokens > alone.usage.input_tokens


def test_a_function_call_round_trip(client: openai.OpenAI, gateway: Running) -> None:
    body = create(
        client, model="local-text", input="What is the weather in Rome?", tools=[WEATHER],
        tool_choice="required",
    )  # fmt: skip
    [call] = body["output"]
    assert call["type"] == "function_call" and call["status"] == "completed"
    assert call["name"] == "get_weather" and call["id"].startswith("fc_")
    assert json.loads(call["arguments"]) == {"city": "What is the weather in Rome?"}
    answer = create(
        client,
        model="local-text",
        previous_response_id=body["id"],
        input=[
            {"type": "function_call_output", "call_id": call["call_id"], "output": "22C, sunny"}
        ],
        tools=[WEATHER],
    )
    assert answer["output"][0]["content"][0]["text"] == "The tool returned: 22C, sunny"
    # The same round trip without a stored response: the client sends the call back itself.
    again = create(
        client,
        model="local-text",
        store=False,
        input=[
            {"role": "user", "content": "What is the weather in Rome?"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather",
             "arguments": call["arguments"]},
            {"type": "function_call_output", "call_id": "call_1", "output": "22C, sunny"},
        ],
        tools=[WEATHER],
    )  # fmt: skip
    assert again["output"][0]["content"][0]["text"] == "The tool returned: 22C, sunny"
    # Streamed: the call's item and its argument deltas.
    _, events = post_stream(
        gateway.url,
        FULL_KEY,
        {
            "model": "local-text",
            "input": "weather in Rome?",
            "tools": [WEATHER],
            "tool_choice": "required",
        },
    )
    final = check_stream(events)
    kinds = [e["type"] for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    deltas = "".join(
        e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"
    )
    assert deltas == done["arguments"] == final["output"][0]["arguments"]
    assert done["name"] == "get_weather"


def test_retrieve_delete_and_other_keys(
    client: openai.OpenAI, gateway: Running, request: pytest.FixtureRequest
) -> None:
    made = client.responses.create(model="local-echo", input="keep me", metadata={"k": "v"})
    raw = client.responses.with_raw_response.retrieve(made.id)
    assert_matches("Response", json.loads(raw.text))
    assert client.responses.retrieve(made.id).output_text == "keep me"
    other = openai.OpenAI(base_url=gateway.v1, api_key=ECHO_KEY, max_retries=0)
    request.addfinalizer(other.close)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(made.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(made.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError) as caught:
        other.responses.create(model="local-echo", input="x", previous_response_id=made.id)
    assert caught.value.body["code"] == "previous_response_not_found"  # type: ignore[index]
    deleted = httpx.delete(
        f"{gateway.v1}/responses/{made.id}", headers={"authorization": f"Bearer {FULL_KEY}"}
    )
    assert deleted.json() == {"id": made.id, "object": "response", "deleted": True}
    for attempt in (client.responses.retrieve, client.responses.delete):
        with pytest.raises(openai.NotFoundError):
            attempt(made.id)
    kept = client.responses.create(model="local-echo", input="not kept", store=False)
    assert kept.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(kept.id)


def test_input_items_page_both_ways(client: openai.OpenAI) -> None:
    words = [f"turn {i}" for i in range(5)]
    made = client.responses.create(
        model="local-echo", input=[{"role": "user", "content": word} for word in words]
    )
    newest = client.responses.input_items.list(made.id, limit=2)
    assert [i.content[0].text for i in newest.data] == ["turn 4", "turn 3"]  # type: ignore[union-attr]
    assert newest.has_more and newest.first_id == newest.data[0].id
    rest = client.responses.input_items.list(made.id, limit=10, after=newest.last_id)
    assert [i.content[0].text for i in rest.data] == ["turn 2", "turn 1", "turn 0"]  # type: ignore[union-attr]
    assert not rest.has_more
    every = [i.id for i in client.responses.input_items.list(made.id, order="asc")]
    assert len(every) == len(set(every)) == 5
    bad = httpx.get(
        f"{client.base_url}responses/{made.id}/input_items?limit=0",
        headers={"authorization": f"Bearer {FULL_KEY}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "local-echo"}, "input"),
        ({"input": "x"}, "model"),
        ({"model": "local-echo", "input": "x", "background": True}, "background"),
        ({"model": "local-echo", "input": "x", "conversation": "conv_1"}, "conversation"),
        ({"model": "local-echo", "input": "x", "tools": [{"type": "web_search"}]}, "tools.0.type"),
        ({"model": "local-echo", "input": [{"type": "reasoning", "summary": []}]}, "input.0"),
        ({"model": "local-echo", "input": "x", "max_output_tokens": 5}, "max_output_tokens"),
        ({"model": "local-echo", "input": "x", "temperature": 3}, "temperature"),
        (
            {"model": "local-echo", "input": "x", "metadata": {str(i): "v" for i in range(17)}},
            "metadata",
        ),
        ({"model": "local-echo", "input": [{"role": "wizard", "content": "x"}]}, "input.0.role"),
    ],
)
def test_bad_requests_are_400_naming_the_field(
    gateway: Running, body: dict[str, Any], param: str
) -> None:
    response = httpx.post(
        f"{gateway.v1}/responses", json=body, headers={"authorization": f"Bearer {FULL_KEY}"}
    )
    assert response.status_code == 400, response.text
    assert_matches("ErrorResponse", response.json())
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_the_pipeline_still_decides(gateway: Running) -> None:
    with openai.OpenAI(base_url=gateway.v1, api_key=ECHO_KEY, max_retries=0) as echo_only:
        # A model the key may not use is answered as one that does not exist (issue 9).
        with pytest.raises(openai.NotFoundError):
            echo_only.responses.create(model="local-text", input="x")
        with pytest.raises(openai.NotFoundError):
            echo_only.responses.create(model="local-text", input="x", stream=True)
    nobody = openai.OpenAI(base_url=gateway.v1, api_key="sk-nope-00000000", max_retries=0)
    with nobody, pytest.raises(openai.AuthenticationError):
        nobody.responses.create(model="local-echo", input="x")


async def test_the_async_client(async_client: openai.AsyncOpenAI) -> None:
    made = await async_client.responses.create(model="local-text", input="async hello")
    stream = await async_client.responses.create(
        model="local-text", input="async hello", stream=True
    )
    deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
    assert "".join(deltas) == made.output_text
    async with async_client.responses.stream(model="local-echo", input="a b c") as helper:
        async for _ in helper:
            pass
        final = await helper.get_final_response()
    assert final.output_text == "a b c"
    follow = await async_client.responses.create(
        model="local-echo", input="next", previous_response_id=final.id
    )
    assert (await async_client.responses.retrieve(follow.id)).output_text == "next"
    items = await async_client.responses.input_items.list(follow.id)
    assert len(items.data) == 3
    await async_client.responses.delete(follow.id)
    with pytest.raises(openai.NotFoundError):
        await async_client.responses.retrieve(follow.id)

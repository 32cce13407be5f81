"""The official ``anthropic`` SDK against the gateway's local models, on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageTokensCount
from anthropic.types.shared import ErrorResponse

from tests.conftest import ECHO_KEY, FULL_KEY, NONE_KEY, Running
from tests.doors.anthropic.stream_checks import check_events, fold, parse_sse

HELLO: list[Any] = [{"role": "user", "content": "Hello there, gateway!"}]
CALCULATOR: Any = {
    "name": "calculator",
    "description": "Evaluates an arithmetic expression",
    "input_schema": {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
}
WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(gateway: Running) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway.url, api_key=FULL_KEY, max_retries=0) as client:
        yield client


def raw(
    gateway: Running, body: dict[str, Any], key: str = FULL_KEY, path: str = "/v1/messages"
) -> httpx.Response:
    return httpx.post(
        f"{gateway.url}{path}",
        json=body,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
    )


def expect_error(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"type", "error", "request_id"}
    assert body["type"] == "error" and body["error"]["type"] == kind and body["error"]["message"]
    if kind != "request_too_large":
        ErrorResponse.model_validate(body)
    message: str = body["error"]["message"]
    return message


def test_create_answers_with_a_message(client: anthropic.Anthropic, gateway: Running) -> None:
    message = client.messages.create(
        model="local-echo", max_tokens=100, system="be brief", messages=HELLO
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "local-echo" and message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hello there, gateway!"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    # "Hello", " there", ",", " gateway", "!"
    assert message.usage.output_tokens == 5
    counted = client.messages.count_tokens(model="local-echo", system="be brief", messages=HELLO)
    assert message.usage.input_tokens == counted.input_tokens > 0
    # The same body raw: strictly valid for the SDK's own model, with the request id.
    response = raw(gateway, {"model": "local-echo", "max_tokens": 100, "messages": HELLO})
    Message.model_validate(response.json())
    assert (
        response.headers["request-id"] == response.headers["x-request-id"] == response.json()["id"]
    )


def test_stream_true_sends_the_documented_events(
    client: anthropic.Anthropic, gateway: Running
) -> None:
    body = {"model": "local-text", "max_tokens": 200, "messages": HELLO, "stream": True}
    response = raw(gateway, body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    check_events(events)
    streamed = fold(events)
    whole = client.messages.create(model="local-text", max_tokens=200, messages=HELLO)
    assert streamed.content == whole.content and streamed.stop_reason == "end_turn"
    assert streamed.usage.output_tokens == whole.usage.output_tokens
    assert streamed.usage.input_tokens == whole.usage.input_tokens
    deltas = [p for name, p in events if name == "content_block_delta"]
    assert len(deltas) == whole.usage.output_tokens > 10  # one event per token, not one blob
    # The SDK's own iterator over stream=True reads the same events.
    kinds = [event.type for event in client.messages.create(**body)]  # type: ignore[call-overload]
    assert kinds == [name for name, _ in events if name != "ping"]


def test_the_stream_helper_text_stream_equals_the_final_text(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="local-text", max_tokens=300, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 10


def test_multi_turn_with_system_blocks(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="local-echo",
        max_tokens=50,
        system=[{"type": "text", "text": "You repeat."}],
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "first"},
            {"role": "user", "content": [{"type": "text", "text": "second turn"}]},
        ],
    )
    assert message.content[0].text == "second turn"  # type: ignore[union-attr]


def test_max_tokens_and_stop_sequences_give_their_stop_reasons(client: anthropic.Anthropic) -> None:
    cut = client.messages.create(model="local-text", max_tokens=4, messages=HELLO)
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 4
    stopped = client.messages.create(
        model="local-echo",
        max_tokens=50,
        stop_sequences=["xyz", " three"],
        messages=[{"role": "user", "content": "one two three four"}],
    )
    assert stopped.content[0].text == "one two"  # type: ignore[union-attr]
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", " three")
    with client.messages.stream(
        model="local-echo",
        max_tokens=50,
        stop_sequences=[" three"],
        messages=[{"role": "user", "content": "one two three four"}],
    ) as stream:
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", " three")


def test_sampling_parameters_and_metadata_are_accepted(client: anthropic.Anthropic) -> None:
    def ask(**extra: Any) -> str:
        message = client.messages.create(model="local-text", max_tokens=60, messages=HELLO, **extra)
        return message.content[0].text  # type: ignore[union-attr]

    plain = ask()
    # This SDK version has no sampling arguments of its own any more; older ones send the same.
    same = ask(extra_body={"top_k": 5, "top_p": 0.9}, metadata={"user_id": "someone"})
    assert same == plain  # no effect on the local model
    assert ask(extra_body={"temperature": 0.2}) != plain  # the local text model reads it


def test_an_image_block_is_accepted_by_a_model_that_reads_text(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="local-echo",
        max_tokens=50,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "iVBORw0KGgo=",
                        },
                    },
                    {"type": "text", "text": "what is this?"},
                ],
            }
        ],
    )
    assert message.content[0].text == "what is this?"  # type: ignore[union-attr]


def calculator_turn(client: anthropic.Anthropic, stream: bool) -> Message:
    question: Any = {"role": "user", "content": "What is 12*(3+4)?"}
    if stream:
        with client.messages.stream(
            model="local-echo", max_tokens=100, tools=[CALCULATOR], messages=[question]
        ) as s:
            asked = s.get_final_message()
    else:
        asked = client.messages.create(
            model="local-echo", max_tokens=100, tools=[CALCULATOR], messages=[question]
        )
    assert asked.stop_reason == "tool_use"
    (call,) = [block for block in asked.content if block.type == "tool_use"]
    assert call.name == "calculator" and call.input == {"expression": "12*(3+4)"}
    follow_up: list[Any] = [
        question,
        {
            "role": "assistant",
            "content": [block.model_dump(exclude_none=True) for block in asked.content],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "84"}],
        },
    ]
    if stream:
        with client.messages.stream(
            model="local-echo", max_tokens=100, tools=[CALCULATOR], messages=follow_up
        ) as s:
            return s.get_final_message()
    return client.messages.create(
        model="local-echo", max_tokens=100, tools=[CALCULATOR], messages=follow_up
    )


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_use_then_tool_result_round_trip(client: anthropic.Anthropic, stream: bool) -> None:
    answer = calculator_turn(client, stream)
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].text == "12*(3+4) = 84"  # type: ignore[union-attr]


def test_streamed_tool_use_is_input_json_deltas(gateway: Running) -> None:
    body = {
        "model": "local-echo",
        "max_tokens": 100,
        "stream": True,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "get_weather city=Rome please"}],
    }
    events = parse_sse(raw(gateway, body).text)
    check_events(events)
    start = next(p for name, p in events if name == "content_block_start")
    assert (
        start["content_block"]["type"] == "tool_use"
        and start["content_block"]["name"] == "get_weather"
    )
    assert any(
        p["delta"]["type"] == "input_json_delta"
        for name, p in events
        if name == "content_block_delta"
    )
    message = fold(events)
    assert message.content[0].input == {"city": "Rome"}  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("choice", "called"),
    [
        ({"type": "tool", "name": "calculator"}, "calculator"),
        ({"type": "any"}, "get_weather"),
        ({"type": "none"}, None),
    ],
)
def test_tool_choice(client: anthropic.Anthropic, choice: Any, called: str | None) -> None:
    message = client.messages.create(
        model="local-echo",
        max_tokens=100,
        tools=[WEATHER, CALCULATOR],
        tool_choice=choice,
        messages=HELLO,
    )
    names = [block.name for block in message.content if block.type == "tool_use"]
    assert names == ([called] if called else [])


def test_count_tokens_counts_tools_and_system_like_the_answer(client: anthropic.Anthropic) -> None:
    messages: Any = [{"role": "user", "content": "What is 12*(3+4)?"}]
    bare = client.messages.count_tokens(model="local-echo", messages=messages)
    with_tools = client.messages.count_tokens(
        model="local-echo", messages=messages, tools=[CALCULATOR], system="s"
    )
    assert isinstance(bare, MessageTokensCount) and with_tools.input_tokens > bare.input_tokens
    answer = client.messages.create(
        model="local-echo", max_tokens=9, messages=messages, tools=[CALCULATOR], system="s"
    )
    assert answer.usage.input_tokens == with_tools.input_tokens


def test_the_async_client(gateway: Running) -> None:
    async def main() -> tuple[str, str, int]:
        async with anthropic.AsyncAnthropic(
            base_url=gateway.url, api_key=FULL_KEY, max_retries=0
        ) as client:
            created = await client.messages.create(
                model="local-echo", max_tokens=50, messages=HELLO
            )
            async with client.messages.stream(
                model="local-echo", max_tokens=50, messages=HELLO
            ) as stream:
                text = "".join([piece async for piece in stream.text_stream])
            counted = await client.messages.count_tokens(model="local-echo", messages=HELLO)
            return created.content[0].text, text, counted.input_tokens  # type: ignore[union-attr]

    created, streamed, counted = asyncio.run(main())
    assert created == streamed == "Hello there, gateway!" and counted > 0


def test_x_api_key_and_bearer_both_authenticate(gateway: Running) -> None:
    body = {"model": "local-echo", "max_tokens": 10, "messages": HELLO}
    assert raw(gateway, body).status_code == 200
    bearer = httpx.post(
        f"{gateway.url}/v1/messages", json=body, headers={"authorization": f"Bearer {FULL_KEY}"}
    )
    assert bearer.status_code == 200  # anthropic-version is not required either
    both = httpx.post(
        f"{gateway.url}/v1/messages",
        json=body | {"model": "local-text"},
        headers={"x-api-key": ECHO_KEY, "authorization": f"Bearer {FULL_KEY}"},
    )
    # x-api-key wins: the echo-only key may not use local-text, which is then not there.
    assert both.status_code == 404


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_authentication_and_permission_errors(gateway: Running, path: str) -> None:
    body = {"model": "local-echo", "max_tokens": 10, "messages": HELLO}
    expect_error(
        raw(gateway, body, key="sk-wrong-key-000000000000", path=path), 401, "authentication_error"
    )
    missing = httpx.post(f"{gateway.url}{path}", json=body)
    expect_error(missing, 401, "authentication_error")
    # A model the key may not use is answered as one that does not exist (issue 9).
    assert "does not exist" in expect_error(
        raw(gateway, body | {"model": "local-text"}, ECHO_KEY, path), 404, "not_found_error"
    )
    expect_error(raw(gateway, body, NONE_KEY, path), 404, "not_found_error")
    expect_error(raw(gateway, body | {"model": "no-such-model"}, path=path), 404, "not_found_error")


def test_the_sdk_raises_its_own_error_classes(gateway: Running) -> None:
    with (
        anthropic.Anthropic(
            base_url=gateway.url, api_key="sk-wrong-key-000000000000", max_retries=0
        ) as bad,
        pytest.raises(anthropic.AuthenticationError) as raised,
    ):
        bad.messages.create(model="local-echo", max_tokens=10, messages=HELLO)
    assert raised.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    echo_only = anthropic.Anthropic(base_url=gateway.url, api_key=ECHO_KEY, max_retries=0)
    with echo_only:
        with pytest.raises(anthropic.NotFoundError):  # not permitted looks like not there
            echo_only.messages.create(model="local-text", max_tokens=10, messages=HELLO)
        with pytest.raises(anthropic.NotFoundError):
            echo_only.messages.count_tokens(model="nope", messages=HELLO)
        with pytest.raises(anthropic.BadRequestError) as bad_request:
            echo_only.messages.create(
                model="local-echo", max_tokens=10, messages=HELLO, extra_body={"temperature": 3}
            )
    assert bad_request.value.request_id and "temperature" in bad_request.value.message


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"model": "local-echo", "messages": [{"role": "user", "content": "hi"}]}', "max_tokens"),
        (b'{"model": "local-echo", "max_tokens": 5}', "messages"),
        (
            b'{"model": "local-echo", "max_tokens": 5, "messages": [{"role": "user", "content": 5}]}',
            "messages.0.content",
        ),
        (b"[]", "should be an object (the body as a whole)"),
    ],
)
def test_bad_bodies_are_invalid_request_errors(
    gateway: Running, content: bytes, needle: str
) -> None:
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        if path.endswith("count_tokens") and needle == "max_tokens":
            continue  # count_tokens takes no max_tokens
        response = httpx.post(
            f"{gateway.url}{path}", content=content, headers={"x-api-key": FULL_KEY}
        )
        assert needle in expect_error(response, 400, "invalid_request_error")
        assert response.json()["request_id"] == response.headers["request-id"]


def test_unknown_paths_wrong_methods_and_large_bodies_in_anthropics_shape(gateway: Running) -> None:
    headers = {"x-api-key": FULL_KEY}
    expect_error(
        httpx.get(f"{gateway.url}/v1/messages/batches/x", headers=headers), 404, "not_found_error"
    )
    expect_error(
        httpx.get(f"{gateway.url}/v1/messages", headers=headers), 405, "invalid_request_error"
    )
    big = {
        "model": "local-echo",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x" * 70_000}],
    }
    expect_error(raw(gateway, big), 413, "request_too_large")
    # Other paths keep the OpenAI error object.
    other = httpx.get(f"{gateway.url}/v1/nothing-here", headers=headers).json()
    assert "type" not in other and other["error"]["code"] == "not_found"


def test_openapi_documents_both_routes(gateway: Running) -> None:
    spec = httpx.get(f"{gateway.url}/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def named(schema: dict) -> dict:
        return schemas[schema["$ref"].rsplit("/", 1)[-1]]

    create = spec["paths"]["/v1/messages"]["post"]
    request_schema = named(create["requestBody"]["content"]["application/json"]["schema"])
    assert {"model", "messages", "max_tokens"} <= set(request_schema["required"])
    assert (
        "tools" in request_schema["properties"] and "stop_sequences" in request_schema["properties"]
    )
    ok = create["responses"]["200"]["content"]
    assert (
        ok["application/json"]["schema"]["$ref"].endswith("/MessageResponse")
        and "text/event-stream" in ok
    )
    assert create["responses"]["429"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AnthropicErrorResponse"
    )
    count = spec["paths"]["/v1/messages/count_tokens"]["post"]
    counted = named(count["requestBody"]["content"]["application/json"]["schema"])
    assert "max_tokens" not in counted["properties"]

"""The OpenAI door driven by the official ``openai`` SDK over a real socket."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import ECHO_KEY, FULL_KEY, Running
from tests.openapi_schemas import assert_matches

HELLO = [{"role": "user", "content": "Hello there, gateway!"}]


@pytest.fixture
def client(gateway: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0)


@pytest.fixture
def async_client(gateway: Running) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0)


def test_echo_repeats_the_last_user_message(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="local-echo",
        messages=[{"role": "system", "content": "be brief"}, *HELLO],
    )
    assert reply.object == "chat.completion"
    assert reply.model == "local-echo"
    assert reply.choices[0].message.content == "Hello there, gateway!"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    # "Hello", " there", ",", " gateway", "!"
    assert reply.usage.completion_tokens == 5
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 5


def test_text_model_is_deterministic_and_seed_changes_it(client: openai.OpenAI) -> None:
    def ask(**extra: object) -> str:
        reply = client.chat.completions.create(model="local-text", messages=HELLO, **extra)  # type: ignore[call-overload]
        content = reply.choices[0].message.content
        assert isinstance(content, str) and content
        return content

    first, again = ask(), ask()
    assert first == again
    seeded = ask(seed=1, temperature=1.0)
    assert seeded == ask(seed=1, temperature=1.0)
    assert seeded != ask(seed=2, temperature=1.0)


def test_streaming_relays_the_same_answer_word_by_word(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="local-text", messages=HELLO)
    stream = client.chat.completions.create(
        model="local-text", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
            assert chunk.choices == []
            continue
        choice = chunk.choices[0]
        if choice.delta.content:
            pieces.append(choice.delta.content)
        finish = choice.finish_reason or finish
    assert "".join(pieces) == whole.choices[0].message.content
    assert len(pieces) > 10  # one chunk per word, not one blob
    assert finish == "stop"
    assert usage is not None and whole.usage is not None
    assert usage.completion_tokens == len(pieces) == whole.usage.completion_tokens
    assert usage.prompt_tokens == whole.usage.prompt_tokens


def test_stream_without_include_usage_sends_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="local-echo", messages=HELLO, stream=True))
    assert all(chunk.usage is None for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_max_tokens_cuts_with_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="local-text", messages=HELLO, max_tokens=4)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 4


def test_stop_sequence_ends_the_answer_before_it(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="local-echo",
        messages=[{"role": "user", "content": "one two three four"}],
        stop=[" three"],
    )
    assert reply.choices[0].message.content == "one two"
    assert reply.choices[0].finish_reason == "stop"


def test_n_returns_several_distinct_choices(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="local-text", messages=HELLO, n=3, temperature=1)
    assert [c.index for c in reply.choices] == [0, 1, 2]
    texts = {c.message.content for c in reply.choices}
    assert len(texts) == 3
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 3 * 10


def test_multi_part_content_is_read_as_text(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="local-echo",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "part one"},
                    {"type": "text", "text": ", part two"},
                ],
            }
        ],
    )
    assert reply.choices[0].message.content == "part one, part two"


def test_tool_call_when_required_then_answer_from_the_result(client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    messages: list = [{"role": "user", "content": "Rome"}]
    reply = client.chat.completions.create(
        model="local-text", messages=messages, tools=tools, tool_choice="required"
    )  # type: ignore[arg-type]
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.function.arguments == '{"city":"Rome"}'  # type: ignore[union-attr]
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"},
    ]
    final = client.chat.completions.create(model="local-text", messages=messages, tools=tools)  # type: ignore[arg-type]
    assert final.choices[0].message.content == "The tool returned: sunny, 24 C"


def test_streamed_tool_call_assembles_like_the_whole_one(client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {
                    "type": "object",
                    "properties": {"q": {"type": "string"}, "k": {"type": "integer"}},
                },
            },
        }
    ]
    stream = client.chat.completions.create(
        model="local-text",
        messages=[{"role": "user", "content": "please lookup cats"}],
        tools=tools,
        stream=True,  # type: ignore[arg-type]
    )
    name, arguments, finish = "", "", None
    for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or ():
            name += call.function.name or "" if call.function else ""
            arguments += call.function.arguments or "" if call.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert name == "lookup"
    assert arguments == '{"q":"please lookup cats","k":1}'
    assert finish == "tool_calls"


def test_models_list_and_retrieve_show_only_permitted_models(gateway: Running) -> None:
    full = openai.OpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0)
    assert sorted(m.id for m in full.models.list()) == ["local-echo", "local-embed", "local-text"]
    assert full.models.retrieve("local-text").owned_by == "continuum"
    echo = openai.OpenAI(base_url=gateway.v1, api_key=ECHO_KEY, max_retries=0)
    assert [m.id for m in echo.models.list()] == ["local-echo"]
    with pytest.raises(openai.NotFoundError):
        echo.models.retrieve("local-text")


async def test_async_client_streams_and_completes(async_client: openai.AsyncOpenAI) -> None:
    reply = await async_client.chat.completions.create(model="local-echo", messages=HELLO)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "Hello there, gateway!"
    stream = await async_client.chat.completions.create(
        model="local-echo", messages=HELLO, stream=True
    )  # type: ignore[arg-type]
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello there, gateway!"
    names = [m.id async for m in async_client.models.list()]
    assert "local-echo" in names
    await async_client.close()


def test_sdk_raises_typed_errors(gateway: Running) -> None:
    bad = openai.OpenAI(base_url=gateway.v1, api_key="sk-wrong-key-000000000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as auth:
        bad.models.list()
    assert auth.value.code == "invalid_api_key"
    echo = openai.OpenAI(base_url=gateway.v1, api_key=ECHO_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as forbidden:
        echo.chat.completions.create(model="local-text", messages=HELLO)  # type: ignore[arg-type]
    assert forbidden.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError) as missing:
        echo.chat.completions.create(model="no-such-model", messages=HELLO)  # type: ignore[arg-type]
    assert missing.value.code == "model_not_found"


def test_wire_shapes_match_the_official_openapi_spec(gateway: Running) -> None:
    headers = {"Authorization": f"Bearer {FULL_KEY}"}
    with httpx.Client(base_url=gateway.url, headers=headers) as http:
        assert_matches("ListModelsResponse", http.get("/v1/models").json())
        assert_matches("Model", http.get("/v1/models/local-echo").json())
        body = {"model": "local-text", "messages": HELLO, "n": 2}
        assert_matches(
            "CreateChatCompletionResponse", http.post("/v1/chat/completions", json=body).json()
        )
        tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
        called = http.post(
            "/v1/chat/completions", json={**body, "tools": tools, "tool_choice": "required"}
        )
        assert_matches("CreateChatCompletionResponse", called.json())
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = [line for line in response.iter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        import json

        chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
        for chunk in chunks:
            assert_matches("CreateChatCompletionStreamResponse", chunk)
        assert {chunk["id"] for chunk in chunks} == {chunks[0]["id"]}
        assert_matches("ErrorResponse", http.get("/v1/models/unknown").json())


def test_request_id_header_is_the_completion_id(gateway: Running) -> None:
    headers = {"Authorization": f"Bearer {FULL_KEY}"}
    response = httpx.post(
        f"{gateway.v1}/chat/completions",
        headers=headers,
        json={"model": "local-echo", "messages": HELLO},
    )
    assert response.headers["x-request-id"] == response.json()["id"]
    assert response.json()["id"].startswith("chatcmpl-")

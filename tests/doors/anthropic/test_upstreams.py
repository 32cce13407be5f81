"""Every provider behind the Anthropic door, through the protocol-faithful fake upstreams.

An OpenAI or Ollama model answers the ``anthropic`` SDK, an Anthropic model answers the
``openai`` SDK, and what each upstream receives is the client's request translated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest
from anthropic.types import Message

from continuum.app import create_app
from continuum.core.json_body import parse_json
from continuum.core.pipeline import estimate_prompt_tokens
from continuum.dialects.anthropic.request import CountTokensRequest
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream, fake_anthropic, fake_ollama, fake_openai
from continuum.testing.server import serve_in_thread
from tests.doors.anthropic.stream_checks import check_events, fold, parse_sse

KEY = "sk-anthropic-door-upstreams-01"
UPSTREAM_KEY = "sk-upstream-0123456789"
USERS = f'users:\n  - token: "{KEY}"\n    name: tester\n    permissions: "*"\n'
MODELS = {"gpt": "openai", "llama": "ollama", "claude": "anthropic"}
QUESTION: Any = [{"role": "user", "content": "Tell me about the sea"}]
WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PNG = "iVBORw0KGgo="


@dataclass
class Stack:
    url: str
    fakes: dict[str, FakeUpstream]  # by provider
    client: anthropic.Anthropic

    def post(self, body: dict[str, Any], path: str = "/v1/messages") -> httpx.Response:
        """The raw answer; a whole message is checked against the SDK's ``Message`` type."""
        response = httpx.post(
            f"{self.url}{path}", json=body, headers={"x-api-key": KEY}, timeout=10
        )
        if response.status_code == 200 and not body.get("stream"):
            Message.model_validate(response.json())
        return response

    def seen(self, model: str) -> Any:
        return self.fakes[MODELS[model]].recorder.last.json()


def _entry(
    model_id: str, provider: str, url: str, upstream: str = "fake-model", extra: str = ""
) -> str:
    base = f"{url}/v1" if provider == "openai" else url
    return (
        f'  - id: "{model_id}"\n    provider: "{provider}"\n    upstream_model: "{upstream}"\n'
        f'    base_url: "{base}"\n    api_key: "{UPSTREAM_KEY}"\n{extra}'
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    fakes = {
        "openai": fake_openai(api_key=UPSTREAM_KEY),
        "ollama": fake_ollama(),
        "anthropic": fake_anthropic(api_key=UPSTREAM_KEY),
    }
    with ExitStack() as stack:
        urls = {name: stack.enter_context(fake.run_in_thread()) for name, fake in fakes.items()}
        models = "models:\n" + "".join(
            [
                *(_entry(model, provider, urls[provider]) for model, provider in MODELS.items()),
                _entry("gpt-down", "openai", urls["openai"], "fake-model::status=503"),
                _entry(
                    "claude-drops",
                    "anthropic",
                    urls["anthropic"],
                    "fake-model::drop_after=6,chunks=8",
                ),
                _entry(
                    "gpt-late",
                    "openai",
                    urls["openai"],
                    "fake-model::latency=3",
                    "    first_token_timeout: 0.2\n    retries: 0\n",
                ),
            ]
        )
        config = tmp_path_factory.mktemp("anthropic-upstreams")
        (config / "users.yml").write_text(USERS)
        (config / "models.yml").write_text(models)
        settings = Settings.from_env({}, config_dir=config, data_dir=config)
        url = stack.enter_context(serve_in_thread(create_app(settings)))
        client = stack.enter_context(anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0))
        yield Stack(url, fakes, client)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_create_through_each_provider(stack: Stack, model: str) -> None:
    message = stack.client.messages.create(model=model, max_tokens=100, messages=QUESTION)
    assert message.model == model
    assert message.content[0].text == "Tell me about the sea"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    # The fakes count words: 5 prompt words in, one token per word out.
    assert (message.usage.input_tokens, message.usage.output_tokens) == (5, 5)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_streams_through_each_provider(stack: Stack, model: str) -> None:
    body = {"model": model, "max_tokens": 100, "messages": QUESTION, "stream": True}
    events = parse_sse(stack.post(body).text)
    check_events(events)
    streamed = fold(events)
    assert streamed.content[0].text == "Tell me about the sea"  # type: ignore[union-attr]
    assert (streamed.usage.input_tokens, streamed.usage.output_tokens) == (5, 5)
    assert stack.seen(model)["stream"] is True
    with stack.client.messages.stream(model=model, max_tokens=100, messages=QUESTION) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text == "Tell me about the sea"  # type: ignore[union-attr]


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("streamed", [False, True])
def test_a_tool_round_trip_through_each_provider(stack: Stack, model: str, streamed: bool) -> None:
    client = stack.client
    question: Any = {"role": "user", "content": "get_weather for Rome"}

    def ask(messages: list[Any]) -> anthropic.types.Message:
        if streamed:
            with client.messages.stream(
                model=model, max_tokens=100, tools=[WEATHER], messages=messages
            ) as s:
                return s.get_final_message()
        return client.messages.create(
            model=model, max_tokens=100, tools=[WEATHER], messages=messages
        )

    asked = ask([question])
    assert asked.stop_reason == "tool_use"
    (call,) = asked.content
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input == {"city": "get_weather for Rome"}  # the fakes fill it with the prompt
    answer = ask(
        [
            question,
            {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
            },
        ]
    )
    assert answer.content[0].text == "The tool said: sunny"  # type: ignore[union-attr]
    assert answer.stop_reason == "end_turn"


@pytest.mark.parametrize("model", sorted(MODELS))
def test_count_tokens_estimates_for_remote_providers(stack: Stack, model: str) -> None:
    body: dict[str, Any] = {"model": model, "messages": QUESTION, "system": "be kind"}
    counted = stack.client.messages.count_tokens(**body)
    expected = estimate_prompt_tokens(
        parse_json(orjson.dumps(body), CountTokensRequest).to_core("r")
    )
    assert counted.input_tokens == expected > 0


def test_the_async_client_through_a_remote_provider(stack: Stack) -> None:
    async def main() -> tuple[str, str]:
        async with anthropic.AsyncAnthropic(
            base_url=stack.url, api_key=KEY, max_retries=0
        ) as client:
            created = await client.messages.create(model="gpt", max_tokens=50, messages=QUESTION)
            async with client.messages.stream(
                model="llama", max_tokens=50, messages=QUESTION
            ) as stream:
                text = "".join([piece async for piece in stream.text_stream])
            return created.content[0].text, text  # type: ignore[union-attr]

    assert asyncio.run(main()) == ("Tell me about the sea", "Tell me about the sea")


def _rich(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 77,
        "system": "be kind",
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 7,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-9"},
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    },
                    {"type": "text", "text": "What is it?"},
                ],
            }
        ],
    }


def test_what_an_openai_upstream_receives(stack: Stack) -> None:
    body = _rich("gpt") | {
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    }
    assert stack.post(body).status_code == 200
    seen = stack.seen("gpt")
    assert seen["messages"][0] == {"role": "system", "content": "be kind"}
    image, text = seen["messages"][1]["content"]
    assert image == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    assert text == {"type": "text", "text": "What is it?"}
    assert (seen["max_tokens"], seen["temperature"], seen["top_p"], seen["stop"]) == (
        77,
        0.5,
        0.9,
        ["END"],
    )
    assert seen["user"] == "user-9" and "top_k" not in seen  # OpenAI's API has no top_k
    assert seen["response_format"]["json_schema"]["schema"] == {"type": "object"}
    assert not {"metadata", "output_config", "system", "stop_sequences"} & set(seen)


def test_what_an_ollama_upstream_receives(stack: Stack) -> None:
    assert stack.post(_rich("llama")).status_code == 200
    seen = stack.seen("llama")
    assert seen["messages"][1]["images"] == [PNG]
    assert seen["options"]["top_k"] == 7 and seen["options"]["num_predict"] == 77
    assert seen["options"]["stop"] == ["END"]


def test_what_an_anthropic_upstream_receives(stack: Stack) -> None:
    assert stack.post(_rich("claude")).status_code == 200
    seen = stack.seen("claude")
    assert seen["system"] == "be kind" and seen["max_tokens"] == 77
    assert (seen["temperature"], seen["top_p"], seen["top_k"]) == (0.5, 0.9, 7)
    assert seen["stop_sequences"] == ["END"] and seen["metadata"] == {"user_id": "user-9"}
    image = seen["messages"][0]["content"][0]
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }


def test_an_anthropic_model_answers_the_openai_sdk(stack: Stack) -> None:
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key=KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "hello from openai"}]
    )
    assert reply.choices[0].message.content == "hello from openai"
    assert reply.choices[0].finish_reason == "stop"
    pieces = [
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "hello from openai"}], stream=True
        )
        if chunk.choices
    ]
    assert "".join(pieces) == "hello from openai"
    tools: Any = [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": WEATHER["input_schema"]},
        }
    ]
    called = client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "get_weather now"}], tools=tools
    )
    assert called.choices[0].finish_reason == "tool_calls"
    assert called.choices[0].message.tool_calls[0].function.name == "get_weather"  # type: ignore[index, union-attr]
    client.close()


def test_an_unavailable_upstream_is_overloaded_before_the_first_event(stack: Stack) -> None:
    for stream in (False, True):
        response = stack.post(
            {"model": "gpt-down", "max_tokens": 10, "messages": QUESTION, "stream": stream}
        )
        assert response.status_code == 529, response.text
        assert response.json()["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.APIStatusError) as raised:
        stack.client.messages.create(model="gpt-down", max_tokens=10, messages=QUESTION)
    assert raised.value.status_code == 529


def test_an_upstream_that_never_answers_is_a_timeout_error(stack: Stack) -> None:
    response = stack.post(
        {"model": "gpt-late", "max_tokens": 10, "messages": QUESTION, "stream": True}
    )
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout_error"


def test_a_stream_cut_upstream_ends_with_an_error_event(stack: Stack) -> None:
    body = {"model": "claude-drops", "max_tokens": 100, "messages": QUESTION, "stream": True}
    response = stack.post(body)
    assert response.status_code == 200
    events = parse_sse(response.text)
    check_events(events, complete=False)
    assert events[-1][1]["error"]["type"] == "api_error"
    with (
        pytest.raises(anthropic.APIStatusError),
        stack.client.messages.stream(
            model="claude-drops", max_tokens=100, messages=QUESTION
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass
    whole = stack.post(body | {"stream": False})
    assert whole.status_code == 500 and whole.json()["error"]["type"] == "api_error"

"""The legacy ``/v1/completions`` through the official ``openai`` SDK (local models).

Bodies are validated against the official ``CreateCompletionResponse``; streamed chunks
against the same schema with ``finish_reason`` nullable (see tests/openapi_schemas.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.conftest import FULL_KEY, Running
from tests.openapi_schemas import assert_completion_chunk, assert_matches


@pytest.fixture
def client(gateway: Running) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0) as made:
        yield made


@pytest.fixture
async def async_client(gateway: Running) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=gateway.v1, api_key=FULL_KEY, max_retries=0) as made:
        yield made


def create(client: openai.OpenAI, **body: Any) -> dict[str, Any]:
    raw = client.completions.with_raw_response.create(**body)
    payload: dict[str, Any] = json.loads(raw.text)
    assert_matches("CreateCompletionResponse", payload)
    return payload


def raw_stream(gateway: Running, **body: Any) -> list[Any]:
    """The ``data:`` payloads of a streamed completion, each chunk validated."""
    response = httpx.post(
        f"{gateway.v1}/completions",
        json={**body, "stream": True},
        headers={"authorization": f"Bearer {FULL_KEY}"},
    )
    assert response.status_code == 200, response.text
    payloads = [
        block.removeprefix("data: ") for block in response.text.split("\n\n") if block.strip()
    ]
    chunks = [orjson.loads(p) for p in payloads if p != "[DONE]"]
    for chunk in chunks:
        if "error" not in chunk:
            assert_completion_chunk(chunk)
    return [*chunks, *(["[DONE]"] if payloads[-1] == "[DONE]" else [])]


def test_a_text_completion(client: openai.OpenAI) -> None:
    body = create(client, model="local-echo", prompt="Say this is a test")
    assert body["object"] == "text_completion" and body["id"].startswith("cmpl-")
    [choice] = body["choices"]
    assert choice == {
        "text": "Say this is a test",
        "index": 0,
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert body["usage"]["completion_tokens"] == 5
    reply = client.completions.create(model="local-echo", prompt="Say this is a test")
    assert reply.choices[0].text == "Say this is a test"


def test_max_tokens_defaults_to_16_as_openai_does(client: openai.OpenAI) -> None:
    body = create(client, model="local-text", prompt="Tell me a story")
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 16
    longer = create(client, model="local-text", prompt="Tell me a story", max_tokens=500)
    assert longer["choices"][0]["finish_reason"] == "stop"
    assert longer["choices"][0]["text"].startswith(body["choices"][0]["text"])


def test_echo_stop_n_and_several_prompts(client: openai.OpenAI) -> None:
    echoed = create(client, model="local-echo", prompt="one two three", echo=True)
    assert echoed["choices"][0]["text"] == "one two threeone two three"
    stopped = create(client, model="local-echo", prompt="one two three four", stop=" three")
    assert stopped["choices"][0]["text"] == "one two"
    many = create(
        client, model="local-text", prompt=["first prompt", "second prompt"], n=2,
        temperature=1, max_tokens=40,
    )  # fmt: skip
    assert [c["index"] for c in many["choices"]] == [0, 1, 2, 3]
    texts = [c["text"] for c in many["choices"]]
    assert len(set(texts)) == 4
    # Prompt by prompt: each prompt's pair is what asking for that prompt alone gives.
    alone = create(
        client, model="local-text", prompt="second prompt", n=2, temperature=1, max_tokens=40
    )
    assert texts[2:] == [c["text"] for c in alone["choices"]]
    assert many["usage"]["total_tokens"] == (
        many["usage"]["prompt_tokens"] + many["usage"]["completion_tokens"]
    )


def test_streaming_matches_the_whole_answer(client: openai.OpenAI, gateway: Running) -> None:
    whole = create(client, model="local-text", prompt="stream me", max_tokens=60)
    chunks = raw_stream(gateway, model="local-text", prompt="stream me", max_tokens=60)
    assert chunks[-1] == "[DONE]"
    text = "".join(c["choices"][0]["text"] for c in chunks[:-1])
    assert text == whole["choices"][0]["text"]
    assert chunks[-2]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
    assert all(c["object"] == "text_completion" for c in chunks[:-1])
    sdk = list(
        client.completions.create(
            model="local-text", prompt="stream me", max_tokens=60, stream=True
        )
    )
    assert "".join(c.choices[0].text for c in sdk) == text


def test_streamed_usage_echo_and_several_prompts(gateway: Running) -> None:
    chunks = raw_stream(
        gateway, model="local-echo", prompt=["a b", "c d"], n=2, echo=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    assert chunks[-1] == "[DONE]"
    usage = chunks[-2]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 8
    by_index: dict[int, str] = {}
    for chunk in chunks[:-2]:
        choice = chunk["choices"][0]
        by_index[choice["index"]] = by_index.get(choice["index"], "") + choice["text"]
    assert by_index == {0: "a ba b", 1: "a ba b", 2: "c dc d", 3: "c dc d"}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "local-echo"}, "prompt"),
        ({"model": "local-echo", "prompt": [1, 2, 3]}, "prompt"),
        ({"model": "local-echo", "prompt": "x", "suffix": "y"}, "suffix"),
        ({"model": "local-echo", "prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"model": "local-echo", "prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "local-echo", "prompt": "x", "best_of": 3}, "best_of"),
    ],
)
def test_bad_requests_are_400(gateway: Running, body: dict[str, Any], param: str) -> None:
    response = httpx.post(
        f"{gateway.v1}/completions", json=body, headers={"authorization": f"Bearer {FULL_KEY}"}
    )
    assert response.status_code == 400, response.text
    assert_matches("ErrorResponse", response.json())
    assert response.json()["error"]["param"] == param


async def test_the_async_client(async_client: openai.AsyncOpenAI) -> None:
    reply = await async_client.completions.create(model="local-echo", prompt="async prompt")
    assert reply.choices[0].text == "async prompt"
    stream = await async_client.completions.create(
        model="local-echo", prompt="async prompt", stream=True
    )
    assert "".join([c.choices[0].text async for c in stream]) == "async prompt"

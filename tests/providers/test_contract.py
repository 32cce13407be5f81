"""One contract for every provider: the official openai SDK, through the gateway, to a fake."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.providers.conftest import GATEWAY_KEY, UPSTREAM_KEY, WRONG_KEY, Stack

USER = [{"role": "user", "content": "hello big world"}]
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a thing up",
        "parameters": {
            "type": "object",
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
        },
    },
}


def test_chat_not_streaming(stack: Stack) -> None:
    reply = stack.client.chat.completions.create(model="chat", messages=USER, max_tokens=50)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "hello big world"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (3, 3)


def test_chat_streaming_with_usage(stack: Stack) -> None:
    chunks = list(
        stack.client.chat.completions.create(
            model="chat",
            messages=USER,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello big world"
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 6


def test_upstream_receives_key_and_translated_request(stack: Stack) -> None:
    stack.fake.recorder.clear()
    stack.client.chat.completions.create(
        model="chat",
        messages=[{"role": "system", "content": "be brief"}, *USER],  # type: ignore[list-item]
        max_tokens=7,
    )
    seen = stack.fake.recorder.last
    assert UPSTREAM_KEY in str(seen.headers)
    assert GATEWAY_KEY not in str(seen.headers)
    assert "be brief" in seen.body.decode()


def test_tool_call_and_result(stack: Stack) -> None:
    # Ollama has no tool_choice: the fake calls a tool the prompt names.
    ask = [{"role": "user", "content": "please lookup it"}]
    reply = stack.client.chat.completions.create(
        model="chat",
        messages=ask,  # type: ignore[arg-type]
        tools=[TOOL],  # type: ignore[list-item]
        tool_choice="required",
    )
    assert reply.choices[0].finish_reason == "tool_calls"
    call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert call.function.arguments == '{"q":"please lookup it"}'  # type: ignore[union-attr]
    follow = stack.client.chat.completions.create(
        model="chat",
        messages=[
            *ask,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],  # type: ignore[list-item]
        tools=[TOOL],  # type: ignore[list-item]
    )
    assert follow.choices[0].message.content == "The tool said: sunny"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (503, openai.InternalServerError, 503),
        (429, openai.RateLimitError, 429),
        (500, openai.InternalServerError, 502),
        (400, openai.InternalServerError, 502),
    ],
)
def test_status_fault_before_first_token(
    stack: Stack, status: int, error: type[openai.APIStatusError], code: int
) -> None:
    from continuum.testing.fake_upstream import Fault

    stack.fake.fault = Fault(status=status)
    try:
        for stream in (False, True):
            with pytest.raises(error) as caught:
                list(
                    stack.client.chat.completions.create(model="chat", messages=USER, stream=stream)
                )  # type: ignore[call-overload]
            assert caught.value.status_code == code
            assert isinstance(caught.value.body, dict) and caught.value.body.get("message")
    finally:
        stack.fake.fault = Fault()


def test_upstream_401_is_502_without_the_key(stack: Stack) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        stack.client.chat.completions.create(model="bad-key", messages=USER)  # type: ignore[arg-type]
    assert caught.value.status_code == 502
    assert WRONG_KEY not in str(caught.value.body) and WRONG_KEY not in caught.value.message


def test_first_token_timeout_is_504(stack: Stack) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        stack.client.chat.completions.create(model="late", messages=USER)  # type: ignore[arg-type]
    assert caught.value.status_code == 504
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("model", ["drops", "garbled", "misshapen"])
def test_mid_stream_failure_is_an_error_not_a_truncation(stack: Stack, model: str) -> None:
    stream = stack.client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "one two three four five six"}],  # type: ignore[list-item]
        stream=True,
    )
    got: list[str] = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")
    assert "".join(got).startswith("one")


def test_client_disconnect_closes_upstream_within_100ms(stack: Stack) -> None:
    recorder = stack.fake.recorder
    recorder.clear()
    url = f"{stack.client.base_url}chat/completions"
    body = {"model": "slow", "stream": True, "messages": USER}
    with httpx.stream(
        "POST", url, json=body, headers={"authorization": f"Bearer {GATEWAY_KEY}"}
    ) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        while "hello" not in next(lines):
            pass
        upstream = recorder.wait_requests(1)[-1]
    gone = time.monotonic()
    closed = recorder.wait_closed(upstream.connection, timeout=2)
    assert closed.mid_stream
    assert closed.closed_at is not None and closed.closed_at - gone < 0.1

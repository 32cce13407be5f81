"""The fake OpenAI upstream itself, driven by the official SDK over a real socket."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from continuum.testing.__main__ import parser
from continuum.testing.fake_upstream import FakeUpstream, Fault, fake_openai

USER = [{"role": "user", "content": "hello big world"}]


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeUpstream, openai.OpenAI]]:
    server = fake_openai(api_key="sk-up")
    with server.run_in_thread() as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-up", max_retries=0)
        yield server, client
        client.close()


def test_fault_parsing() -> None:
    assert Fault.parse("status=503; latency=0.5") == Fault(status=503, latency=0.5)
    assert Fault(status=500).merge(Fault(drop_after=2)) == Fault(status=500, drop_after=2)
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.parse("explode=1")
    args = parser().parse_args(["fake-openai", "--port", "9", "--chunks", "20"])
    assert (args.port, args.chunks, args.chunk_delay) == (9, 20, None)


def test_chat_stream_and_not(fake: tuple[FakeUpstream, openai.OpenAI]) -> None:
    _, client = fake
    reply = client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "hello big world"
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=USER,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hello big world"
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 6


def test_tools_embeddings_models(fake: tuple[FakeUpstream, openai.OpenAI]) -> None:
    _, client = fake
    tool = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "required": ["q"]}},
    }
    reply = client.chat.completions.create(
        model="m",
        messages=USER,  # type: ignore[arg-type]
        tools=[tool],  # type: ignore[list-item]
        tool_choice="required",
    )
    call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert call.function.arguments == '{"q":"hello big world"}'  # type: ignore[union-attr]
    vectors = client.embeddings.create(model="e", input=["a", "b"]).data
    assert len(vectors) == 2 and len(vectors[0].embedding) == 8
    assert [m.id for m in client.models.list()] == ["fake-model"]


def test_faults(fake: tuple[FakeUpstream, openai.OpenAI]) -> None:
    server, client = fake
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="m::status=503", messages=USER)  # type: ignore[arg-type]
    assert caught.value.status_code == 503
    server.script(Fault(status=429))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    with pytest.raises(openai.APIConnectionError):
        list(
            client.chat.completions.create(
                model="m::drop_after=2",
                messages=USER,
                stream=True,  # type: ignore[arg-type]
            )
        )
    bad = openai.OpenAI(base_url=str(client.base_url), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    bad.close()


def test_malformed_drip_and_close_recording(fake: tuple[FakeUpstream, openai.OpenAI]) -> None:
    server, client = fake
    url = str(client.base_url) + "chat/completions"
    body = {"model": "m", "stream": True, "messages": USER}
    headers = {"authorization": "Bearer sk-up", "x-fake-fault": "malformed_after=1,drip=0.0005"}
    text = httpx.post(url, json=body, headers=headers).text
    assert "data: {not json" in text and text.endswith("data: [DONE]\n\n")
    headers["x-fake-fault"] = "chunk_delay=0.05,chunks=50"
    with httpx.stream("POST", url, json=body, headers=headers) as response:
        next(response.iter_raw())
        seen = server.recorder.last
    gone = time.monotonic()
    closed = server.recorder.wait_closed(seen.connection)
    assert closed.mid_stream and closed.closed_at is not None
    assert closed.closed_at - gone < 0.1

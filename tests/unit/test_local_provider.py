"""The local models, driven through the provider interface and folded by the core aggregator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from continuum.core.events import Finish, TextDelta, Usage
from continuum.core.routes import Deployment
from continuum.core.stream import collect
from continuum.core.types import ChatRequest, Message, SamplingParams
from continuum.errors import ModelNotFound
from continuum.providers.local import LocalProvider, tokens

ECHO, TEXT = Deployment("local", "echo"), Deployment("local", "text")


def request(text: str = "Tell me about gateways.", **params: object) -> ChatRequest:
    return ChatRequest(
        "m", (Message("user", text),), SamplingParams(**params), request_id="chatcmpl-abc"
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["", "one", "Hello, world!", "  spaced   out  ", "line\nbreak\ttab", "naïve café — ok?"]
)
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokens.tokenize(text)) == text
    assert tokens.count(text) == len(tokens.tokenize(text))


async def test_echo_streams_each_token_and_counts_usage() -> None:
    events = [e async for e in LocalProvider().stream_chat(request("Hello, world!"), ECHO)]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", ",", " world", "!"]
    assert events[-2] == Finish("stop")
    usage = events[-1]
    assert isinstance(usage, Usage) and usage.completion_tokens == 4
    assert usage.prompt_tokens == tokens.REPLY_PRIMING + tokens.PER_MESSAGE + 4


async def test_text_is_a_pure_function_of_the_request() -> None:
    provider = LocalProvider()
    one = await collect(provider.stream_chat(request(), TEXT))
    two = await collect(provider.stream_chat(request(), TEXT))
    other = await collect(provider.stream_chat(request("Something else entirely"), TEXT))
    assert one.choices[0].text == two.choices[0].text != other.choices[0].text
    assert one.usage == two.usage


async def test_low_temperature_uses_a_narrower_vocabulary() -> None:
    provider = LocalProvider()
    cold = await collect(provider.stream_chat(request(temperature=0.0, seed=3), TEXT))
    hot = await collect(provider.stream_chat(request(temperature=2.0, seed=3), TEXT))
    assert len(set(cold.choices[0].text.lower().split())) < len(
        set(hot.choices[0].text.lower().split())
    )


async def test_limits_stop_and_n() -> None:
    provider = LocalProvider()
    cut = await collect(provider.stream_chat(request(max_tokens=3), TEXT))
    assert cut.choices[0].finish_reason == "length" and tokens.count(cut.choices[0].text) == 3
    stopped = await collect(provider.stream_chat(request("a b c d", stop=(" c", " b")), ECHO))
    assert stopped.choices[0].text == "a" and stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].stop_sequence == " b"  # the one that ended it, not the first listed
    # A limit that cuts before the stop sequence is reached ends it, not the stop.
    short = await collect(
        provider.stream_chat(request("a b c d", stop=(" d",), max_tokens=2), ECHO)
    )
    assert short.choices[0].text == "a b" and short.choices[0].finish_reason == "length"
    assert short.choices[0].stop_sequence is None
    many = await collect(provider.stream_chat(request(n=2), TEXT))
    assert [c.index for c in many.choices] == [0, 1]
    assert many.usage is not None
    assert many.usage.completion_tokens == sum(tokens.count(c.text) for c in many.choices)


async def test_count_tokens_is_the_prompt_count_of_the_usage() -> None:
    provider = LocalProvider()
    asked = request("Hello, world!")
    usage = (await collect(provider.stream_chat(asked, ECHO))).usage
    assert usage is not None and await provider.count_tokens(asked, ECHO) == usage.prompt_tokens


async def test_unknown_upstream_model_is_refused_before_any_event() -> None:
    with pytest.raises(ModelNotFound):
        await anext(LocalProvider().stream_chat(request(), Deployment("local", "nope")))


@given(
    st.text(alphabet=st.sampled_from(list("ab ,.\n\t'é")), max_size=300),
    st.integers(min_value=1, max_value=40),
)
def test_a_text_counted_in_pieces_counts_the_same(text: str, size: int) -> None:
    pieces = list(tokens.chunks(text, size))
    assert "".join(pieces) == text
    assert sum(tokens.count(piece) for piece in pieces) == tokens.count(text)


async def test_a_long_prompt_is_counted_the_same_with_turns_of_the_loop() -> None:
    long = " ".join(f"w{i}, x." for i in range(20_000))
    events = [e async for e in LocalProvider().stream_chat(request(long, max_tokens=1), ECHO)]
    usage = events[-1]
    assert isinstance(usage, Usage)
    assert usage.prompt_tokens == tokens.REPLY_PRIMING + tokens.PER_MESSAGE + tokens.count(long)


@pytest.mark.parametrize("max_tokens", [None, 1, 4000, 4001, 10_000])
async def test_a_long_answer_streams_whole_and_stops_exactly_at_max_tokens(
    max_tokens: int | None,
) -> None:
    long = " ".join(f"w{i}, x." for i in range(6000))  # ~40k characters, ~24k tokens
    events = [
        e async for e in LocalProvider().stream_chat(request(long, max_tokens=max_tokens), ECHO)
    ]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    usage, finish = events[-1], events[-2]
    assert isinstance(usage, Usage) and isinstance(finish, Finish)
    if max_tokens is None:
        assert text == long and finish.reason == "stop"
        assert usage.completion_tokens == tokens.count(long)
    else:
        assert text == "".join(tokens.tokenize(long)[:max_tokens]) and finish.reason == "length"
        assert usage.completion_tokens == max_tokens

"""Well-formed JSON of the wrong shape from an upstream is an UpstreamError, never a crash."""

from __future__ import annotations

import pytest

from continuum.core.events import TextDelta
from continuum.errors import UpstreamError
from continuum.providers.anthropic.decode import EventDecoder
from continuum.providers.ollama.decode import LineDecoder
from continuum.providers.openai.decode import ChunkDecoder, completion_events

GOOD_OPENAI = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'


@pytest.mark.parametrize(
    "bad",
    [
        b'data: {"choices":[1]}\n\n',
        b"data: 5\n\n",
        b'data: {"choices":[{"delta":{"content":5}}]}\n\n',
        b'data: {"choices":[{"index":"first","delta":{}}]}\n\n',
        b'data: {"choices":[{"delta":"text"}]}\n\n',
        b'data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":{"a":1}}}]}}]}\n\n',
        b'data: {"choices":[],"usage":{"prompt_tokens":"many"}}\n\n',
    ],
)
def test_openai_chunks_of_the_wrong_shape(bad: bytes) -> None:
    decoder = ChunkDecoder()
    events = decoder.feed(GOOD_OPENAI + bad)
    assert events == [TextDelta("hi")]  # what came before the bad chunk is kept
    assert isinstance(decoder.failure, UpstreamError)


@pytest.mark.parametrize(
    "payload",
    [
        {"choices": [1]},
        {"choices": [{"message": "text"}]},
        {"choices": [{"message": {"content": ["a"]}}]},
        {"choices": [{"index": "x", "message": {}}]},
        {"choices": [], "usage": {"completion_tokens": "lots"}},
    ],
)
def test_openai_whole_answers_of_the_wrong_shape(payload: object) -> None:
    with pytest.raises(UpstreamError, match="wrong shape"):
        completion_events(payload)


@pytest.mark.parametrize(
    "bad",
    [
        b'{"message":"x"}\n',
        b"[1]\n",
        b'{"message":{"tool_calls":[1]}}\n',
        b'{"message":{"tool_calls":[{"function":{"name":7}}]}}\n',
        b'{"done":true,"prompt_eval_count":"x"}\n',
    ],
)
def test_ollama_lines_of_the_wrong_shape(bad: bytes) -> None:
    decoder = LineDecoder()
    events = decoder.feed(b'{"message":{"content":"hi"}}\n' + bad)
    assert events == [TextDelta("hi")]
    assert isinstance(decoder.failure, UpstreamError)


@pytest.mark.parametrize(
    "bad",
    [
        b'{"type":"content_block_delta","index":0,"delta":"x"}',
        b'{"type":"message_start","message":[1]}',
        b'{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","name":5}}',
        b'{"type":"content_block_start","index":"zero","content_block":{"type":"tool_use"}}',
        b'{"type":"message_delta","delta":{},"usage":{"output_tokens":"x"}}',
    ],
)
def test_anthropic_events_of_the_wrong_shape(bad: bytes) -> None:
    good = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n'
    decoder = EventDecoder()
    events = decoder.feed(good + b"event: x\ndata: " + bad + b"\n\n")
    assert events == [TextDelta("hi")]
    assert isinstance(decoder.failure, UpstreamError)

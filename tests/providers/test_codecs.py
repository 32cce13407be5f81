"""Sans-IO decoders fed with bytes alone: split anywhere, truncated, garbage, oversize."""

from __future__ import annotations

import pytest

from continuum.core.events import Finish, TextDelta, ToolCallDelta, Usage
from continuum.errors import UpstreamError
from continuum.providers.codecs.ndjson import MalformedLine, NDJSONDecoder
from continuum.providers.codecs.sse import ServerSentEvent, SSEDecoder
from continuum.providers.openai.decode import ChunkDecoder

# The streaming example of the OpenAI API reference, "The chat completion chunk object"
# (https://platform.openai.com/docs/api-reference/chat/streaming), plus the usage chunk
# that stream_options.include_usage adds and the [DONE] marker.
OPENAI_EXAMPLE = (
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,'
    b'"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,'
    b'"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,'
    b'"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,'
    b'"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,'
    b'"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,'
    b'"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,'
    b'"total_tokens":10}}\n\n'
    b"data: [DONE]\n\n"
)


def test_sse_fields_comments_and_multiline_data() -> None:
    decoder = SSEDecoder()
    raw = b": keep-alive\r\nevent: ping\r\nid: 7\r\ndata: a\r\ndata: b\r\n\r\n\n"
    assert decoder.feed(raw) == [ServerSentEvent("a\nb", "ping", "7")]
    assert decoder.close()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_openai_example_split_anywhere(size: int) -> None:
    decoder = ChunkDecoder()
    events = []
    for start in range(0, len(OPENAI_EXAMPLE), size):
        events += decoder.feed(OPENAI_EXAMPLE[start : start + size])
    assert events == [TextDelta("Hello"), Finish("stop"), Usage(9, 1)]
    assert decoder.done and decoder.failure is None


def test_openai_tool_call_chunks() -> None:
    raw = (
        b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",'
        b'"type":"function","function":{"name":"f","arguments":""}}]}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":'
        b'{"arguments":"{}"}}]},"finish_reason":"tool_calls"}]}\n\n'
    )
    assert ChunkDecoder().feed(raw) == [
        ToolCallDelta(0, "", "call_1", "f"),
        ToolCallDelta(0, "{}"),
        Finish("tool_calls"),
    ]


def test_openai_garbage_keeps_earlier_events_and_fails() -> None:
    decoder = ChunkDecoder()
    good = b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
    assert decoder.feed(good + b"data: {not json\n\n" + good) == [TextDelta("hi")]
    assert isinstance(decoder.failure, UpstreamError)
    assert decoder.feed(good) == []  # nothing after a failure


def test_openai_in_stream_error_object() -> None:
    decoder = ChunkDecoder()
    decoder.feed(b'data: {"error":{"message":"overloaded"}}\n\n')
    assert decoder.failure is not None and "overloaded" in decoder.failure.message


def test_truncation_and_oversize() -> None:
    sse = SSEDecoder(max_line=16)
    assert sse.feed(b"data: partial") == []
    assert not sse.close()
    with pytest.raises(ValueError, match="longer than"):
        sse.feed(b"x" * 32)
    oversized = ChunkDecoder()
    oversized.feed(b"data: " + b"x" * (2 << 20))
    assert oversized.failure is not None


def test_ndjson_split_truncated_garbage() -> None:
    decoder = NDJSONDecoder(max_line=64)
    assert decoder.feed(b'{"a":1}\n\n{"b"') == [{"a": 1}]
    assert not decoder.close()
    assert decoder.feed(b":2}\n") == [{"b": 2}]
    assert decoder.close()
    with pytest.raises(MalformedLine, match="malformed") as caught:
        decoder.feed(b'{"c":3}\n{oops\n')
    assert caught.value.items == [{"c": 3}]
    with pytest.raises(ValueError, match="longer than"):
        decoder.feed(b"x" * 100)


# The streaming example of Ollama's API reference, "Generate a chat completion"
# (https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-streaming),
# and its tool-call response shape (arguments as an object).
OLLAMA_EXAMPLE = (
    b'{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00",'
    b'"message":{"role":"assistant","content":"The","images":null},"done":false}\n'
    b'{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":'
    b'{"role":"assistant","content":""},"done":true,"total_duration":4883583458,'
    b'"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,'
    b'"eval_count":282,"eval_duration":4535599000}\n'
)
OLLAMA_TOOL = (
    b'{"model":"llama3.2","created_at":"2024-07-22T20:33:28.123648Z","message":{"role":'
    b'"assistant","content":"","tool_calls":[{"function":{"name":"get_current_weather",'
    b'"arguments":{"format":"celsius","location":"Paris, FR"}}}]},"done_reason":"stop",'
    b'"done":true,"prompt_eval_count":217,"eval_count":22}\n'
)


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_ollama_example_split_anywhere(size: int) -> None:
    from continuum.providers.ollama.decode import LineDecoder

    decoder = LineDecoder()
    events = []
    for start in range(0, len(OLLAMA_EXAMPLE), size):
        events += decoder.feed(OLLAMA_EXAMPLE[start : start + size])
    assert events == [TextDelta("The"), Finish("stop"), Usage(26, 282)]
    assert decoder.done


def test_ollama_tool_call_and_errors() -> None:
    from continuum.providers.ollama.decode import LineDecoder

    assert LineDecoder().feed(OLLAMA_TOOL) == [
        ToolCallDelta(
            0, '{"format":"celsius","location":"Paris, FR"}', "call_0", "get_current_weather"
        ),
        Finish("tool_calls"),
        Usage(217, 22),
    ]
    broken = LineDecoder()
    assert broken.feed(b'{"message":{"content":"a"},"done":false}\n{"error":"boom"}\n') == [
        TextDelta("a")
    ]
    assert broken.failure is not None and "boom" in broken.failure.message
    long = LineDecoder()
    long._lines = NDJSONDecoder(max_line=8)
    long.feed(b"x" * 20)
    assert long.failure is not None

"""The sans-IO codec, tested with bytes alone."""

from __future__ import annotations

import struct
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from continuum.core.events import TextDelta, ToolCallDelta, Usage
from continuum.doors.tcp import codec
from continuum.doors.tcp.codec import FrameDecoder, encode_frame
from continuum.doors.tcp.errors import (
    BadMagic,
    FlowControlError,
    FrameTooLarge,
    ProtocolError,
    UnknownFrameType,
    UnsupportedVersion,
)
from continuum.doors.tcp.flow import Replenisher, Window, utf8_cut
from continuum.doors.tcp.frames import (
    DEFAULT_MAX_FRAME,
    FLAG_MORE,
    HEADER,
    MAGIC,
    MAX_WINDOW,
    PREFACE,
    Frame,
    FrameType,
)
from continuum.doors.tcp.payloads import Done, ErrorInfo, GoAway, Hello, Welcome
from continuum.errors import RateLimited, SchemaViolation

WELCOME = Welcome(65536, 100, 65536, 1 << 20, 8 << 20, 8 << 20, 120.0)


def sample_stream() -> tuple[bytes, list[Frame]]:
    """A preface and one frame of every type, with the frames a decoder must return."""
    parts = [
        Hello("ck-secret", "tests/1", 32768).encode(),
        WELCOME.encode(),
        encode_frame(FrameType.REQUEST, 1, b'{"model":"m",', FLAG_MORE),
        encode_frame(FrameType.REQUEST, 1, b'"messages":[]}'),
        codec.encode_text(1, 0, "héllo ".encode()),
        codec.encode_tool_call(1, 0, 2, b"call_1", b"lookup", b'{"q":'),
        Done(("stop", None), Usage(3, 4)).encode(1),
        ErrorInfo(429, "rate_limit_exceeded", "slow down", None, 1.5).encode(2),
        encode_frame(FrameType.CANCEL, 3),
        codec.encode_window_update(0, 40000),
        encode_frame(FrameType.PING, 0, b"12345678"),
        encode_frame(FrameType.PONG, 0, b"12345678"),
        GoAway(3).encode(),
    ]
    decoder = FrameDecoder(max_frame_size=DEFAULT_MAX_FRAME)
    data = PREFACE + b"".join(parts)
    decoder.feed(data)
    frames = decoder.frames()
    assert len(frames) == len(parts)
    return data, frames


def test_every_frame_type_round_trips() -> None:
    _, frames = sample_stream()
    assert [f.type for f in frames] == [
        FrameType.HELLO,
        FrameType.WELCOME,
        FrameType.REQUEST,
        FrameType.REQUEST,
        FrameType.TEXT,
        FrameType.TOOL_CALL,
        FrameType.DONE,
        FrameType.ERROR,
        FrameType.CANCEL,
        FrameType.WINDOW_UPDATE,
        FrameType.PING,
        FrameType.PONG,
        FrameType.GOAWAY,
    ]
    assert Hello.decode(frames[0].payload) == Hello("ck-secret", "tests/1", 32768)
    assert Welcome.decode(frames[1].payload) == WELCOME
    assert frames[2].flags == FLAG_MORE and frames[3].flags == 0
    assert frames[2].payload + frames[3].payload == b'{"model":"m","messages":[]}'
    assert codec.decode_text(frames[4].payload) == TextDelta("héllo ", 0)
    assert codec.decode_tool_call(frames[5].payload) == ToolCallDelta(
        2, '{"q":', "call_1", "lookup"
    )
    done = Done.decode(frames[6].payload)
    assert done.finish_reasons == ("stop", None) and done.usage == Usage(3, 4)
    assert ErrorInfo.decode(frames[7].payload) == ErrorInfo(
        429, "rate_limit_exceeded", "slow down", None, 1.5
    )
    assert (frames[8].type, frames[8].request_id, frames[8].payload) == (FrameType.CANCEL, 3, b"")
    assert codec.decode_window_update(frames[9].payload) == 40000
    assert codec.check_ping(frames[10].payload) == b"12345678"
    assert GoAway.decode(frames[12].payload).last_request_id == 3


def test_truncation_at_every_offset_gives_the_same_frames() -> None:
    data, expected = sample_stream()
    for cut in range(len(data) + 1):
        decoder = FrameDecoder()
        decoder.feed(data[:cut])
        first = decoder.frames()
        # Only frames wholly inside the prefix come out; the rest waits, nothing raises.
        assert first == expected[: len(first)]
        decoder.feed(data[cut:])
        assert first + decoder.frames() == expected


def test_byte_by_byte() -> None:
    data, expected = sample_stream()
    decoder = FrameDecoder()
    got = []
    for i in range(len(data)):
        decoder.feed(data[i : i + 1])
        got.extend(decoder.frames())
    assert got == expected
    assert decoder.buffered == 0


def test_documented_example_bytes() -> None:
    """The byte-by-byte example in docs/protocol.md §14."""
    assert PREFACE.hex(" ") == "89 43 54 4d 00 01 00 00"
    hello = encode_frame(FrameType.HELLO, 0, b'{"key":"k"}')
    assert hello.hex(" ") == "00 00 00 0b 01 00 00 00 00 00 7b 22 6b 65 79 22 3a 22 6b 22 7d"
    assert codec.encode_text(1, 0, b"Hi").hex(" ") == "00 00 00 04 04 00 00 00 00 01 00 00 48 69"
    assert codec.encode_window_update(1, 32768).hex(" ") == (
        "00 00 00 04 09 00 00 00 00 01 00 00 80 00"
    )
    request = encode_frame(FrameType.REQUEST, 1, b'{"model":"m","messages":[]}')
    assert request[:10].hex(" ") == "00 00 00 1b 03 00 00 00 00 01"


@pytest.mark.parametrize("position", range(len(MAGIC)))
def test_bad_magic_fails_on_the_first_wrong_byte(position: int) -> None:
    data = bytearray(PREFACE)
    data[position] ^= 0xFF
    decoder = FrameDecoder()
    decoder.feed(bytes(data[:position]))
    with pytest.raises(BadMagic):
        decoder.feed(bytes(data[position : position + 1]))


def test_http_request_is_bad_magic() -> None:
    with pytest.raises(BadMagic):
        FrameDecoder().feed(b"GET / HTTP/1.1\r\n\r\n")


def test_unsupported_version() -> None:
    decoder = FrameDecoder()
    decoder.feed(MAGIC + struct.pack(">HH", 2, 0))
    with pytest.raises(UnsupportedVersion) as info:
        decoder.next_frame()
    assert info.value.status == 505


def test_client_decoder_accepts_any_server_version() -> None:
    decoder = FrameDecoder(versions=None)
    decoder.feed(MAGIC + struct.pack(">HH", 7, 0))
    assert decoder.next_frame() is None
    assert decoder.version == 7


@pytest.mark.parametrize("length", [DEFAULT_MAX_FRAME + 1, 1 << 20, (1 << 32) - 1])
def test_oversized_length_is_refused_from_the_header_alone(length: int) -> None:
    decoder = FrameDecoder(expect_preface=False)
    tracemalloc.start()
    try:
        decoder.feed(HEADER.pack(length, FrameType.REQUEST, 0, 1))
        with pytest.raises(FrameTooLarge):
            decoder.next_frame()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024  # nothing of the announced size was allocated


def test_negotiated_frame_size_is_enforced() -> None:
    decoder = FrameDecoder(expect_preface=False, max_frame_size=65536)
    decoder.feed(encode_frame(FrameType.REQUEST, 1, b"x" * 65536))
    assert len(decoder.frames()[0].payload) == 65536
    decoder.feed(HEADER.pack(65537, FrameType.REQUEST, 0, 1))
    with pytest.raises(FrameTooLarge):
        decoder.next_frame()


@pytest.mark.parametrize("ftype", [0, 13, 99, 255])
def test_unknown_frame_type(ftype: int) -> None:
    decoder = FrameDecoder(expect_preface=False)
    decoder.feed(HEADER.pack(0, ftype, 0, 0))
    with pytest.raises(UnknownFrameType):
        decoder.next_frame()


@pytest.mark.parametrize(
    ("decode", "payload"),
    [
        (codec.decode_text, b"\x00"),
        (codec.decode_text, b"\x00\x00\xff\xfe"),
        (codec.decode_tool_call, b"\x00\x00\x00"),
        (codec.decode_tool_call, struct.pack(">HHHH", 0, 0, 5, 0) + b"abc"),
        (codec.decode_tool_call, struct.pack(">HHHH", 0, 0, 1, 0) + b"\xff"),
        (codec.decode_window_update, b"\x00\x00\x01"),
        (codec.decode_window_update, b"\xff\xff\xff\xff"),
        (codec.check_ping, b"1234567"),
        (Hello.decode, b"not json"),
        (Hello.decode, b"[1]"),
        (Hello.decode, b'{"client":"x"}'),
        (Hello.decode, b'{"key":1}'),
        (Hello.decode, b'{"key":"k","max_frame_size":1024}'),
        (Hello.decode, b'{"key":"k","max_frame_size":2097152}'),
        (Hello.decode, b'{"key":"k","max_frame_size":true}'),
        (Welcome.decode, b'{"max_frame_size":16384}'),
        (Done.decode, b'{"finish_reasons":"stop"}'),
        (Done.decode, b'{"finish_reasons":[],"usage":{"prompt_tokens":"1"}}'),
        (ErrorInfo.decode, b'{"status":400}'),
        (ErrorInfo.decode, b'{"status":400,"message":"m","retry_after":"soon"}'),
        (GoAway.decode, b"{}"),
    ],
)
def test_malformed_payloads_are_protocol_errors(decode: object, payload: bytes) -> None:
    assert callable(decode)
    with pytest.raises(ProtocolError):
        decode(payload)


def test_error_info_from_errors() -> None:
    limited = ErrorInfo.from_error(RateLimited("too many", retry_after=2.5))
    assert (limited.status, limited.code, limited.retry_after) == (429, "rate_limit_exceeded", 2.5)
    bad = ErrorInfo.from_error(SchemaViolation("bad role", param="messages.0.role"))
    assert (bad.status, bad.code, bad.param, bad.retry_after) == (
        400,
        "invalid_value",
        "messages.0.role",
        None,
    )
    long = ErrorInfo(500, None, "x" * 100_000).encode(1)
    assert len(long) < DEFAULT_MAX_FRAME


def test_window_accounting() -> None:
    window = Window(10)
    window.consume(10)
    with pytest.raises(FlowControlError):
        window.consume(1)
    window.grant(5)
    assert window.available == 5
    with pytest.raises(FlowControlError):
        window.grant(0)
    with pytest.raises(FlowControlError):
        window.grant(MAX_WINDOW)


def test_replenisher_batches_half_a_window() -> None:
    owed = Replenisher(100)
    assert [owed.add(20), owed.add(20), owed.add(20), owed.add(5)] == [0, 0, 60, 0]


@given(st.text(), st.integers(min_value=0, max_value=64))
def test_utf8_cut_ends_between_characters(text: str, limit: int) -> None:
    data = text.encode()
    cut = utf8_cut(data, limit)
    assert cut <= min(limit, len(data))
    data[:cut].decode()  # never splits a character
    if data and limit >= 4:
        assert cut > 0


frames_strategy = st.builds(
    Frame,
    st.sampled_from(list(FrameType)).map(int),
    st.integers(0, 255),
    st.integers(0, (1 << 32) - 1),
    st.binary(max_size=300),
)


@given(st.lists(frames_strategy, max_size=8), st.lists(st.integers(0, 4000), max_size=6))
def test_encode_decode_round_trip_with_any_chunking(frames: list[Frame], cuts: list[int]) -> None:
    data = PREFACE + b"".join(
        encode_frame(f.type, f.request_id, f.payload, f.flags) for f in frames
    )
    decoder = FrameDecoder()
    got: list[Frame] = []
    start = 0
    for cut in sorted(c for c in cuts if c < len(data)):
        decoder.feed(data[start:cut])
        got.extend(decoder.frames())
        start = cut
    decoder.feed(data[start:])
    got.extend(decoder.frames())
    assert got == frames


PAYLOAD_DECODERS = {
    FrameType.HELLO: Hello.decode,
    FrameType.WELCOME: Welcome.decode,
    FrameType.TEXT: codec.decode_text,
    FrameType.TOOL_CALL: codec.decode_tool_call,
    FrameType.DONE: Done.decode,
    FrameType.ERROR: ErrorInfo.decode,
    FrameType.WINDOW_UPDATE: codec.decode_window_update,
    FrameType.PING: codec.check_ping,
    FrameType.PONG: codec.check_ping,
    FrameType.GOAWAY: GoAway.decode,
}


@settings(max_examples=300)
@given(st.booleans(), st.binary(max_size=2000), st.lists(st.integers(1, 2000), max_size=5))
def test_arbitrary_bytes_raise_only_protocol_errors(
    with_preface: bool, garbage: bytes, cuts: list[int]
) -> None:
    data = (PREFACE if with_preface else b"") + garbage
    decoder = FrameDecoder()
    start = 0
    try:
        for cut in [*sorted(cuts), len(data)]:
            decoder.feed(data[start:cut])
            start = cut
            for frame in decoder.frames():
                decode = PAYLOAD_DECODERS.get(FrameType(frame.type))
                if decode is not None:
                    decode(frame.payload)
    except ProtocolError:
        pass
    assert decoder.buffered <= len(data)


shaped_frames = st.lists(
    st.tuples(st.integers(0, 14), st.integers(0, 255), st.integers(0, 5), st.binary(max_size=64)),
    max_size=10,
)


@settings(max_examples=300)
@given(shaped_frames, st.integers(0, 3))
def test_frame_shaped_garbage_raises_only_protocol_errors(
    shaped: list[tuple[int, int, int, bytes]], lie: int
) -> None:
    """Well-formed headers around random payloads (and lying lengths) reach every decoder."""
    data = PREFACE + b"".join(
        HEADER.pack(len(p) + (lie if i == 0 else 0), t, f, r) + p
        for i, (t, f, r, p) in enumerate(shaped)
    )
    decoder = FrameDecoder()
    try:
        decoder.feed(data)
        for frame in decoder.frames():
            decode = PAYLOAD_DECODERS.get(FrameType(frame.type))
            if decode is not None:
                decode(frame.payload)
    except ProtocolError:
        pass

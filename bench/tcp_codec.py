"""Payload encodings for the TCP protocol, measured side by side (docs/decisions.md).

    .venv/bin/python -m bench.tcp_codec            # about 20 s
    .venv/bin/pip install msgpack ormsgpack       # to include the msgpack candidates

For each kind of payload it times what the server and the client do per frame with
each candidate: the binary layout of docs/protocol.md, JSON through orjson, and
msgpack (``msgpack`` and ``ormsgpack``, when installed; they are not dependencies).
Figures are the median of 7 runs, in nanoseconds per frame, plus bytes on the wire.
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from continuum.core.events import TextDelta, ToolCallDelta
from continuum.dialects.openai.request import ChatCompletionRequest
from continuum.doors.tcp import codec
from continuum.doors.tcp.codec import FrameDecoder
from continuum.doors.tcp.frames import HEADER, FrameType

RUNS = 7
TOKENS = [" the", " gateway", " streams", " every", " token", " to", " the", " client", "."]
ARGS = ['{"loc', 'ation":', ' "Par', 'is", "un', 'it": "c"}']
REQUEST = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant. " * 8},
        {"role": "user", "content": "Explain how a gateway streams tokens. " * 6},
        {"role": "assistant", "content": "It relays each piece as it arrives. " * 10},
        {"role": "user", "content": "And what about flow control?"},
    ],
    "max_tokens": 256,
    "temperature": 0.7,
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Current weather",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}, "unit": {"type": "string"}},
                    "required": ["location"],
                },
            },
        }
    ],
}


Packer = tuple[Callable[[Any], bytes], Callable[[bytes], Any]]
ToolPiece = tuple[int, "str | None", "str | None", str]


@dataclass
class Row:
    workload: str
    candidate: str
    ns: float
    size: float


def _time_side_by_side(fns: dict[str, Callable[[], object]], count: int) -> dict[str, float]:
    """Median ns per call of each function; the candidates take turns in every round so
    that drift (frequency scaling, a neighbour's load) hits them all alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(RUNS):
        for name, fn in fns.items():
            start = time.perf_counter_ns()
            for _ in range(count):
                fn()
            samples[name].append((time.perf_counter_ns() - start) / count)
    return {name: statistics.median(values) for name, values in samples.items()}


def _frame(payload: bytes, ftype: int = FrameType.TEXT) -> bytes:
    return HEADER.pack(len(payload), ftype, 0, 7) + payload


def _packers() -> dict[str, Packer]:
    found: dict[str, Packer] = {"json (orjson)": (orjson.dumps, orjson.loads)}
    for name in ("ormsgpack", "msgpack"):
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            print(f"({name} is not installed: skipped)")
            continue
        found[name] = (module.packb, module.unpackb)
    return found


def _payloads(stream: bytes) -> list[bytes]:
    decoder = FrameDecoder(expect_preface=False)
    decoder.feed(stream)
    return [frame.payload for frame in decoder.frames()]


def _measure(
    workload: str,
    items: list[Any],
    encoders: dict[str, Callable[[Any], bytes]],
    decoders: dict[str, Callable[[bytes], object]],
) -> list[Row]:
    streams = {name: b"".join(encode(item) for item in items) for name, encode in encoders.items()}
    payloads = {name: _payloads(stream) for name, stream in streams.items()}

    def encode_all(encode: Callable[[Any], bytes]) -> Callable[[], object]:
        return lambda: [encode(item) for item in items]

    def decode_all(decode: Callable[[bytes], object], data: list[bytes]) -> Callable[[], object]:
        return lambda: [decode(payload) for payload in data]

    encoded = _time_side_by_side({n: encode_all(e) for n, e in encoders.items()}, 30)
    decoded = _time_side_by_side({n: decode_all(decoders[n], payloads[n]) for n in decoders}, 30)
    rows = []
    for name in encoders:
        size = len(streams[name]) / len(items)
        rows.append(
            Row(f"{workload} frame encode (server)", name, encoded[name] / len(items), size)
        )
        rows.append(
            Row(f"{workload} payload decode (client)", name, decoded[name] / len(items), size)
        )
    return rows


def text_rows(packers: dict[str, Packer]) -> list[Row]:
    encoders: dict[str, Callable[[Any], bytes]] = {
        "binary (chosen)": lambda t: codec.encode_text(7, 0, t.encode())
    }
    decoders: dict[str, Callable[[bytes], object]] = {"binary (chosen)": codec.decode_text}
    for name, (pack, unpack) in packers.items():
        if name.startswith("json"):
            encoders[name] = _json_text(pack)
            decoders[name] = _json_text_decoder(unpack)
        else:
            encoders[name] = _pack_text(pack)
            decoders[name] = _pack_text_decoder(unpack)
    return _measure("TEXT", TOKENS * 100, encoders, decoders)


def _json_text(pack: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    return lambda text: _frame(pack({"choice": 0, "text": text}))


def _json_text_decoder(unpack: Callable[[bytes], Any]) -> Callable[[bytes], object]:
    return lambda payload: TextDelta(**unpack(payload))


def _pack_text(pack: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    return lambda text: _frame(pack([0, text]))


def _pack_text_decoder(unpack: Callable[[bytes], Any]) -> Callable[[bytes], object]:
    def decode(payload: bytes) -> TextDelta:
        choice, text = unpack(payload)
        return TextDelta(text, choice)

    return decode


def _binary_tool(piece: ToolPiece) -> bytes:
    index, call_id, name, args = piece
    return codec.encode_tool_call(
        7, 0, index, (call_id or "").encode(), (name or "").encode(), args.encode()
    )


def _json_tool(pack: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def encode(piece: ToolPiece) -> bytes:
        body: dict[str, Any] = {"choice": 0, "index": piece[0], "arguments": piece[3]}
        if piece[1] is not None:
            body["id"], body["name"] = piece[1], piece[2]
        return _frame(pack(body), FrameType.TOOL_CALL)

    return encode


def _pack_tool(pack: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    return lambda piece: _frame(pack([0, *piece]), FrameType.TOOL_CALL)


def _json_tool_decoder(unpack: Callable[[bytes], Any]) -> Callable[[bytes], object]:
    return lambda payload: ToolCallDelta(**unpack(payload))


def _pack_tool_decoder(unpack: Callable[[bytes], Any]) -> Callable[[bytes], object]:
    def decode(payload: bytes) -> ToolCallDelta:
        choice, index, call_id, name, args = unpack(payload)
        return ToolCallDelta(index, args, call_id, name, choice)

    return decode


def tool_rows(packers: dict[str, Packer]) -> list[Row]:
    pieces: list[ToolPiece] = [(0, "call_abc123", "weather", "")]
    pieces += [(0, None, None, a) for a in ARGS]
    encoders: dict[str, Callable[[Any], bytes]] = {"binary (chosen)": _binary_tool}
    decoders: dict[str, Callable[[bytes], object]] = {"binary (chosen)": codec.decode_tool_call}
    for name, (pack, unpack) in packers.items():
        if name.startswith("json"):
            encoders[name], decoders[name] = _json_tool(pack), _json_tool_decoder(unpack)
        else:
            encoders[name], decoders[name] = _pack_tool(pack), _pack_tool_decoder(unpack)
    return _measure("TOOL_CALL", pieces * 100, encoders, decoders)


def request_rows(packers: dict[str, Packer]) -> list[Row]:
    """The server's side of a request: bytes to the validated body the HTTP door uses."""
    parsers: dict[str, Callable[[], object]] = {}
    encoders: dict[str, Callable[[], object]] = {}
    sizes: dict[str, int] = {}
    for name, (pack, unpack) in packers.items():
        data = pack(REQUEST)
        encoders[name] = _bound(pack, REQUEST)
        sizes[name] = len(data)
        if name.startswith("json"):
            # What the HTTP door does: pydantic's one-pass parser over the raw bytes.
            parsers["json (chosen): model_validate_json"] = _bound(
                ChatCompletionRequest.model_validate_json, data
            )
            sizes["json (chosen): model_validate_json"] = len(data)
            parsers["json: orjson.loads + model_validate"] = _loads_then_validate(unpack, data)
            sizes["json: orjson.loads + model_validate"] = len(data)
        else:
            parsers[f"{name}: unpackb + model_validate"] = _loads_then_validate(unpack, data)
            sizes[f"{name}: unpackb + model_validate"] = len(data)
    parsed = _time_side_by_side(parsers, 2000)
    packed = _time_side_by_side(encoders, 2000)
    rows = [Row("REQUEST decode + validate (server)", n, ns, sizes[n]) for n, ns in parsed.items()]
    rows += [Row("REQUEST encode (client)", n, ns, sizes[n]) for n, ns in packed.items()]
    return rows


def _bound(fn: Callable[[Any], object], arg: Any) -> Callable[[], object]:
    return lambda: fn(arg)


def _loads_then_validate(unpack: Callable[[bytes], Any], data: bytes) -> Callable[[], object]:
    return lambda: ChatCompletionRequest.model_validate(unpack(data))


def main() -> None:
    packers = _packers()
    rows = text_rows(packers) + tool_rows(packers) + request_rows(packers)
    print("| workload | candidate | ns per frame (median of 7) | bytes per frame |")
    print("|---|---|---:|---:|")
    for row in rows:
        print(f"| {row.workload} | {row.candidate} | {row.ns:,.0f} | {row.size:,.1f} |")


if __name__ == "__main__":
    main()

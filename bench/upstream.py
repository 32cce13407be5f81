"""A minimal OpenAI-compatible upstream for the benchmarks: as cheap per request as we can make it.

``python -m bench.upstream fake-openai --port N --chunks 20 --chunk-delay 0``

The benchmarks measure what a gateway adds, so the upstream must never be the
bottleneck: raw asyncio protocol on uvloop, httptools for parsing, answers prepared
once at start. Each answer has ``--chunks`` content chunks (cycling through a few
different words: LiteLLM aborts a stream that repeats one chunk 100 times), then a
finish chunk (with usage when ``stream_options.include_usage`` asks for it) and
``[DONE]``; the non-streaming answer is the same text in one completion. With
``--chunk-delay`` the first chunk goes out at once and each next one after the delay
(a slow drip for holding many streams open).

It exists for the benchmark only (no fault injection, no tool calls); tests and users
have the fake upstreams of ``continuum.testing``. The suite uses that one when the
package has it (bench/targets.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Sequence

import httptools
import orjson

WORDS = ("alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta ")


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class Answers:
    """Every byte the upstream sends, built once per model name and cached."""

    def __init__(self, chunks: int):
        self.chunks = chunks
        self._cache: dict[tuple[str, bool, bool], tuple[bytes, ...]] = {}

    def _chunk(self, model: str, delta: dict[str, object], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        event = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [choice],
        }
        return _chunked(b"data: " + orjson.dumps(event) + b"\n\n")

    def _usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": 8,
            "completion_tokens": self.chunks,
            "total_tokens": 8 + self.chunks,
        }

    def stream(self, model: str, usage: bool) -> tuple[bytes, ...]:
        """Head, then one piece per content chunk, then the finish and the end."""
        key = (model, True, usage)
        if key not in self._cache:
            head = (
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            pieces = [
                self._chunk(model, {"content": WORDS[i % len(WORDS)]}, None)
                for i in range(self.chunks)
            ]
            pieces[0] = self._chunk(model, {"role": "assistant", "content": WORDS[0]}, None)
            end = self._chunk(model, {}, "stop")
            if usage:
                event = {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion.chunk",
                    "created": 1700000000,
                    "model": model,
                    "choices": [],
                    "usage": self._usage(),
                }
                end += _chunked(b"data: " + orjson.dumps(event) + b"\n\n")
            end += _chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n"
            self._cache[key] = (head, *pieces, end)
        return self._cache[key]

    def completion(self, model: str) -> bytes:
        key = (model, False, False)
        if key not in self._cache:
            text = "".join(WORDS[i % len(WORDS)] for i in range(self.chunks))
            body = orjson.dumps(
                {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion",
                    "created": 1700000000,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": self._usage(),
                }
            )
            head = (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
            )
            self._cache[key] = (head % len(body) + body,)
        return self._cache[key][0]


class Upstream(asyncio.Protocol):
    """One client connection (HTTP/1.1, kept alive)."""

    def __init__(self, answers: Answers, delay: float):
        self._answers = answers
        self._delay = delay
        self._parser = httptools.HttpRequestParser(self)
        self._body: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._drip: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a stream transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self._drip is not None:
            self._drip.cancel()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.close()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        transport = self._transport
        assert transport is not None
        raw = b"".join(self._body)
        self._body.clear()
        try:
            request = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            request = {}
        model = str(request.get("model") or "bench")
        if not request.get("stream"):
            transport.write(self._answers.completion(model))
            return
        usage = bool((request.get("stream_options") or {}).get("include_usage"))
        pieces = self._answers.stream(model, usage)
        if not self._delay:
            transport.write(b"".join(pieces))
            return
        transport.write(pieces[0] + pieces[1])
        self._drip = asyncio.ensure_future(self._slowly(transport, pieces[2:]))

    async def _slowly(self, transport: asyncio.Transport, pieces: Sequence[bytes]) -> None:
        for piece in pieces:
            await asyncio.sleep(self._delay)
            if transport.is_closing():
                return
            transport.write(piece)


async def serve(host: str, port: int, chunks: int, delay: float) -> None:
    answers = Answers(chunks)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Upstream(answers, delay), host, port, backlog=4096, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.upstream", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("fake-openai",))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    import uvloop  # uvicorn[standard] brings it

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port, args.chunks, args.chunk_delay))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The WebSocket doors' CPU per answer, in-process, beside the SSE door's.

    .venv/bin/python -m bench.ws_door [--requests 3000] [--rounds 5]

Drives the real ASGI app (auth, limits, the local echo model, the ledger) with minimal
ASGI callers, no sockets: the SSE door (``POST /v1/chat/completions``, one request each),
the WebSocket chat door and the prompt API's WebSocket (one connection, the requests one
after another on it, as a client that keeps its connection would). Reports the median
CPU microseconds per answer of several rounds, for 20-token answers and for 2,000-token
answers (where the per-chunk cost dominates: chunks per CPU second).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from continuum.app import create_app
from continuum.settings import Settings

KEY = "bench-ws-door-0123456789"
SHORT = " ".join(f"word{i}" for i in range(20))
LONG = " ".join(f"word{i}" for i in range(2000))


def _scope(kind: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
        "subprotocols": [],
    }


async def sse_round(app: Any, prompt: str, requests: int) -> float:
    body = orjson.dumps(
        {"model": "local-echo", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    )
    headers = [
        (b"authorization", f"Bearer {KEY}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = _scope("http", "/v1/chat/completions", headers)
    scope["method"] = "POST"
    idle = asyncio.Event()

    async def one() -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await idle.wait()
            return {"type": "http.disconnect"}

        ended = False

        async def send(message: dict[str, Any]) -> None:
            nonlocal ended
            if message["type"] == "http.response.body" and not message.get("more_body"):
                ended = True

        await app(dict(scope), receive, send)
        assert ended

    started = time.process_time()
    for _ in range(requests):
        await one()
    return (time.process_time() - started) / requests * 1e6


async def socket_round(
    app: Any, path: str, message: bytes, last: Callable[[str], bool], requests: int
) -> float:
    """One WebSocket connection; ``requests`` messages, each sent once the last is answered."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    answered = asyncio.Event()
    await inbox.put({"type": "websocket.connect"})

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "websocket.send" and last(event["text"]):
            answered.set()

    scope = _scope("websocket", path, [(b"authorization", f"Bearer {KEY}".encode())])
    serving = asyncio.create_task(app(scope, receive, send))
    text = message.decode()
    started = time.process_time()
    for _ in range(requests):
        answered.clear()
        await inbox.put({"type": "websocket.receive", "text": text})
        await answered.wait()
    cost = (time.process_time() - started) / requests * 1e6
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await serving
    return cost


def _chat(prompt: str) -> bytes:
    return orjson.dumps({"model": "local-echo", "messages": [{"role": "user", "content": prompt}]})


def _finished(text: str) -> bool:
    return '"finish_reason":"' in text or text.startswith('{"error"')


def _complete(text: str) -> bool:
    return text.startswith(('{"type":"complete"', '{"type":"error"'))


async def main(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "users.yml").write_text(
            f'users:\n  - token: "{KEY}"\n    name: bench\n    permissions: "*"\n'
            '    rate_limit: ["1000000000/minute", "1000000000000 tokens/minute"]\n'
        )
        env = {"CONTINUUM_DEFAULT_MODEL": "local-echo"}
        app = create_app(Settings.from_env(env, config_dir=config, data_dir=config))
        async with app.router.lifespan_context(app):
            for prompt, label, count in ((SHORT, "20", requests), (LONG, "2,000", requests // 50)):
                doors: dict[str, Callable[[], Awaitable[float]]] = {
                    "SSE  /v1/chat/completions": partial(sse_round, app, prompt, count),
                    "WS   /v1/chat/completions/ws": partial(
                        socket_round,
                        app,
                        "/v1/chat/completions/ws",
                        _chat(prompt),
                        _finished,
                        count,
                    ),
                    "WS   /model/ws": partial(
                        socket_round,
                        app,
                        "/model/ws",
                        orjson.dumps({"prompt": prompt}),
                        _complete,
                        count,
                    ),
                }
                for door in doors.values():
                    await door()  # warm up
                costs: dict[str, list[float]] = {name: [] for name in doors}
                for _ in range(rounds):  # interleaved, so machine load hits every door alike
                    for name, door in doors.items():
                        costs[name].append(await door())
                tokens = 20 if label == "20" else 2000
                for name, values in costs.items():
                    median = statistics.median(values)
                    print(
                        f"{label}-token answers, {name}: median {median:.0f} µs CPU per answer, "
                        f"{tokens / median * 1e6:,.0f} chunks per CPU second "
                        f"(rounds: {', '.join(f'{v:.0f}' for v in values)})",
                        flush=True,
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))

"""Run a fake upstream from a shell.

python -m continuum.testing fake-openai --port 9000 --chunks 20 --chunk-delay 0
python -m continuum.testing fake-ollama --port 11434
python -m continuum.testing fake-anthropic --port 9001 --api-key sk-ant-test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from continuum.testing.fake_upstream import (
    FakeUpstream,
    Fault,
    fake_anthropic,
    fake_ollama,
    fake_openai,
)

FAKES: dict[str, Callable[..., FakeUpstream]] = {
    "fake-openai": fake_openai,
    "fake-ollama": fake_ollama,
    "fake-anthropic": fake_anthropic,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m continuum.testing")
    sub = root.add_subparsers(dest="fake", required=True)
    for name in FAKES:
        cmd = sub.add_parser(name, help=f"run the {name} upstream server")
        cmd.add_argument("--host", default="127.0.0.1")
        cmd.add_argument("--port", type=int, default=0, help="0 picks a free port")
        cmd.add_argument("--chunks", type=int, default=None, help="content chunks per answer")
        cmd.add_argument("--chunk-delay", type=float, default=None, help="seconds per chunk")
        cmd.add_argument("--fault", default="", help="fault for every request, e.g. status=503")
        cmd.add_argument("--api-key", default=None, help="require this key")
        cmd.add_argument("--models", default="fake-model", help="comma-separated model ids")
    return root


async def _run(fake: FakeUpstream, host: str, port: int) -> None:
    server = await fake.serve(host, port)
    bound = server.sockets[0].getsockname()[1]
    print(f"{fake.flavor.name} fake listening on http://{host}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    options: dict[str, Any] = {
        "chunks": args.chunks,
        "chunk_delay": args.chunk_delay,
        "fault": Fault.parse(args.fault),
        "api_key": args.api_key,
        "models": tuple(m.strip() for m in args.models.split(",") if m.strip()),
    }
    fake = FAKES[args.fake](**options)
    try:
        import uvloop

        runner: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(_run(fake, args.host, args.port))


if __name__ == "__main__":
    main()

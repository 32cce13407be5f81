"""What observing a request (metrics, the access line) costs, in process.

    .venv/bin/python -m bench.observer_cost [--requests 3000] [--rounds 7]

First the calls the pipeline makes per request on its observer alone (a streamed
request: ``stream_opened``, ``request_settled``, ``stream_closed``), for the three
observers below, in rounds of ``--requests`` calls alternating between them: what a
request pays, without the noise of the rest of the request. Then the door: three
copies of the real ASGI app (``bench.door_cost``'s caller: auth, limits, the local
echo model, the ledger), the same but for the pipeline's observer: none
(``NoObserver``), metrics only (``GatewayObserver`` without an access log), and metrics
with the JSON access line (written through ``configure_logging`` to /dev/null). Rounds
alternate between the three, so they share the machine's state; the figures are the
median CPU microseconds per request, and each variant's difference from "none".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

from bench.door_cost import KEY, _round
from continuum.app import build_gateway, create_app
from continuum.core.ports import NoObserver, RequestObserver, UsageRecord
from continuum.observability.access import AccessLog
from continuum.observability.logging import configure_logging
from continuum.observability.observer import GatewayObserver
from continuum.settings import Settings


def _app(directory: Path, observer: str) -> Any:
    (directory / "users.yml").write_text(
        f'users:\n  - token: "{KEY}"\n    name: bench\n    permissions: "*"\n'
        '    rate_limit: ["1000000000/minute", "1000000000000 tokens/minute"]\n'
    )
    settings = Settings.from_env({}, config_dir=directory, data_dir=directory)
    gateway = build_gateway(settings)
    chosen: RequestObserver = NoObserver()
    if observer == "metrics":
        chosen = GatewayObserver(gateway.metrics)
    elif observer == "metrics + access line":
        chosen = GatewayObserver(gateway.metrics, AccessLog(gateway.redactor))
    gateway.pipeline.observer = chosen
    return create_app(gateway=gateway)


def _calls(apps: dict[str, Any], requests: int, rounds: int) -> None:
    """The observer's calls alone, per request (median ns over rounds)."""
    record = UsageRecord(
        "chatcmpl-5f0c2a9e41d8b7a6", "alice", "key_0123", "local-echo", "local/echo",
        12, 40, 12.3, 2.1, 200, None, time.time(), door="http",
    )  # fmt: skip
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            observer = app.state.gateway.pipeline.observer
            started = time.perf_counter_ns()
            for _ in range(requests):
                observer.stream_opened("http")
                observer.request_settled(record)
                observer.stream_closed("http")
            samples[name].append((time.perf_counter_ns() - started) / requests)
            app.state.gateway.metrics.flush()  # as a scrape would, so accumulators stay small
    for name, values in samples.items():
        print(
            f"observer calls alone    {name:<22} median "
            f"{statistics.median(values) / 1000:6.2f} µs per request"
        )


async def main(requests: int, rounds: int, null: TextIO) -> None:
    variants = ("none", "metrics", "metrics + access line")
    with tempfile.TemporaryDirectory() as tmp:
        configure_logging("info", fmt="json", stream=null)
        apps = {}
        for index, name in enumerate(variants):
            directory = Path(tmp) / str(index)
            directory.mkdir()
            apps[name] = _app(directory, name)
        _calls(apps, requests, rounds)
        async with AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
                await _round(app, False, 300)  # warm up
            for stream in (False, True):
                costs: dict[str, list[float]] = {name: [] for name in variants}
                for _ in range(rounds):
                    for name, app in apps.items():
                        costs[name].append(await _round(app, stream, requests))
                medians = {name: statistics.median(values) for name, values in costs.items()}
                kind = "streaming, 20 tokens" if stream else "non-streaming"
                for name in variants:
                    extra = medians[name] - medians["none"]
                    print(
                        f"{kind:<22} {name:<22} median {medians[name]:6.1f} µs CPU per request"
                        f" ({extra:+.1f} µs)",
                        flush=True,
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with open(os.devnull, "w") as null:
        asyncio.run(main(args.requests, args.rounds, null))

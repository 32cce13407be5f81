"""How many usage records a hard kill loses: SIGKILL a gateway during load, match by request id.

    .venv/bin/python -m bench.ledger_kill [--trials 6] [--seconds 2] [--concurrency 16]

Each trial starts ``continuum serve`` on a fresh data dir, loads it with non-streaming
chats from ``concurrency`` clients, kills it with SIGKILL while the load runs (requests
in flight), starts it again on the same data dir (its start writes the journal of the
dead process into the database), and compares the request ids of every answered
request (``x-request-id`` of each 200) with the ledger's rows: answered but missing is
lost, a request id twice is counted twice. Trials alternate with the journal on
(the default) and off (``CONTINUUM_USAGE_JOURNAL=false``, the batching ledger alone).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx

from continuum.testing.process import gateway_process

KEY = "sk-ledger-kill-bench-0000001"
BODY = {"model": "local-echo", "messages": [{"role": "user", "content": "count me"}]}


async def load_until_killed(
    url: str, seconds: float, concurrency: int, kill: asyncio.Event
) -> list[str]:
    """Load until the gateway dies; ``kill`` is set after ``seconds`` of load."""
    answered: list[str] = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {KEY}"}, limits=limits, timeout=10
    ) as client:

        async def worker() -> None:
            while True:
                try:
                    response = await client.post("/v1/chat/completions", json=BODY)
                except httpx.TransportError:
                    return  # killed
                if response.status_code == 200:
                    answered.append(response.headers["x-request-id"])

        async def timer() -> None:
            await asyncio.sleep(seconds)
            kill.set()

        await asyncio.gather(timer(), *(worker() for _ in range(concurrency)))
    return answered


def trial(seconds: float, concurrency: int, journal: bool) -> tuple[int, int, int]:
    """(answered, lost, counted twice) of one kill."""
    env = {} if journal else {"CONTINUUM_USAGE_JOURNAL": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        config, data = Path(tmp) / "config", Path(tmp) / "data"
        config.mkdir()
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{KEY}", name: "kill", permissions: "*"}}\n'
        )
        args = ("--config-dir", str(config), "--data-dir", str(data))
        with gateway_process(*args, env=env) as gateway:

            async def run() -> list[str]:
                kill = asyncio.Event()

                async def killer() -> None:
                    await kill.wait()
                    gateway.process.send_signal(signal.SIGKILL)

                answered, _ = await asyncio.gather(
                    load_until_killed(gateway.url, seconds, concurrency, kill), killer()
                )
                return answered

            answered = asyncio.run(run())
            gateway.process.wait()
        with gateway_process(*args, env=env):
            pass  # started (the journal replayed) and stopped cleanly
        with sqlite3.connect(data / "continuum.db") as db:
            ids = [row[0] for row in db.execute("SELECT request_id FROM continuum_usage")]
    lost = len(set(answered) - set(ids))
    return len(answered), lost, len(ids) - len(set(ids))


def main(trials: int, seconds: float, concurrency: int) -> None:
    totals = {True: [0, 0, 0], False: [0, 0, 0]}
    for number in range(trials):
        journal = number % 2 == 0
        started = time.monotonic()
        answered, lost, twice = trial(seconds, concurrency, journal)
        for index, value in enumerate((answered, lost, twice)):
            totals[journal][index] += value
        print(
            f"trial {number + 1} (journal {'on' if journal else 'off'}): answered {answered},"
            f" lost {lost}, counted twice {twice} ({time.monotonic() - started:.1f} s)",
            flush=True,
        )
    for journal, (answered, lost, twice) in totals.items():
        share = lost / max(answered, 1)
        print(
            f"journal {'on ' if journal else 'off'}: {lost} of {answered} answered requests lost"
            f" ({share:.2%}), {twice} counted twice"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    main(args.trials, args.seconds, args.concurrency)

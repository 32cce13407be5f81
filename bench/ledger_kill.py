"""How many usage records a hard kill loses: SIGKILL a loaded gateway, count the rows.

    .venv/bin/python -m bench.ledger_kill [--seconds 3] [--concurrency 16]

Answered requests minus ledger rows is what the kill lost; the ledger promises at most
the batch that was queued since the last flush (0.5 s of traffic, or 500 records).
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


async def load(url: str, seconds: float, concurrency: int) -> tuple[int, float]:
    """Load until ``seconds`` pass; returns the answered count and those of the last 0.5 s."""
    answered: list[float] = []
    deadline = time.monotonic() + seconds
    body = {"model": "local-echo", "messages": [{"role": "user", "content": "count me"}]}
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {KEY}"}
    ) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                if (await client.post("/v1/chat/completions", json=body)).status_code == 200:
                    answered.append(time.monotonic())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    end = answered[-1] if answered else 0.0
    return len(answered), sum(1 for t in answered if t > end - 0.5)


def main(seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config, data = Path(tmp) / "config", Path(tmp) / "data"
        config.mkdir()
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{KEY}", name: "kill", permissions: "*"}}\n'
        )
        with gateway_process("--config-dir", str(config), "--data-dir", str(data)) as gateway:
            answered, last_half_second = asyncio.run(load(gateway.url, seconds, concurrency))
            gateway.process.send_signal(signal.SIGKILL)
            gateway.process.wait()
        with sqlite3.connect(data / "continuum.db") as db:
            rows = db.execute("SELECT count(*) FROM continuum_usage").fetchone()[0]
    lost = answered - rows
    print(
        f"answered {answered}, ledger rows {rows}, lost by SIGKILL {lost} "
        f"({lost / max(answered, 1):.2%}); answered in the last 0.5 s: {last_half_second}"
    )
    print(
        "within the promise (at most the in-flight batch)"
        if lost <= max(last_half_second, 500)
        else "MORE THAN THE IN-FLIGHT BATCH WAS LOST"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    main(args.seconds, args.concurrency)

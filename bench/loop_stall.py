"""How long one large local-model request holds the gateway: /health latency beside it.

    .venv/bin/python -m bench.loop_stall [--words 40000] [--n 3]

Starts ``continuum serve`` (local models), then for each kind of large request (the
issue's ``n=128`` over a 40k-word prompt, and an allowed ``n`` streamed and not
streamed) sends it with curl while this process asks ``GET /health`` every 5 ms, and reports
the worst and median ``/health`` latency while the large request ran, its status and
duration, and the gateway's peak RSS. Run it with another build's interpreter or
``PYTHONPATH`` to compare.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from continuum.testing.process import gateway_process

KEY = "sk-loop-stall-bench-00000001"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 1e6


def measure(url: str, pid: int, body: dict[str, object]) -> str:
    """Send ``body`` from a curl process (so reading its answer takes no time from this
    process's GIL) while this one asks /health."""
    latencies: list[float] = []
    peak = rss_mb(pid)
    with tempfile.NamedTemporaryFile("wb", suffix=".json") as payload:
        payload.write(orjson.dumps(body))
        payload.flush()
        with httpx.Client(base_url=url) as client:
            client.get("/health")
            started = time.monotonic()
            big = subprocess.Popen(
                [
                    "curl",
                    "-sS",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code} %{size_download}",
                    "-H",
                    f"Authorization: Bearer {KEY}",
                    "-H",
                    "Content-Type: application/json",
                    "--data-binary",
                    f"@{payload.name}",
                    f"{url}/v1/chat/completions",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            while big.poll() is None:
                asked = time.monotonic()
                client.get("/health", timeout=600)
                latencies.append((time.monotonic() - asked) * 1000)
                peak = max(peak, rss_mb(pid))
                time.sleep(0.005)
            seconds = time.monotonic() - started
    assert big.stdout is not None
    status, size = big.stdout.read().split()
    return (
        f"status {status}, {seconds:.2f} s, {int(size) / 1e6:.1f} MB sent; /health worst "
        f"{max(latencies):.1f} ms, median {statistics.median(latencies):.1f} ms "
        f"({len(latencies)} asked); peak RSS {peak:.0f} MB"
    )


def main(words: int, n: int) -> None:
    prompt = " ".join(f"word{i % 1000}" for i in range(words))
    message = [{"role": "user", "content": prompt}]
    cases = [
        ("n=128, not streamed (the issue's)", {"n": 128}),
        (f"n={n}, streamed", {"n": n, "stream": True}),
        (f"n={n}, not streamed", {"n": n}),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "users.yml").write_text(
            f'users:\n  - {{token: "{KEY}", name: "stall", permissions: "*"}}\n'
        )
        args = ("--config-dir", str(config), "--data-dir", str(config / "data"))
        with gateway_process(*args) as gateway:
            pid = gateway.process.pid
            print(f"idle RSS {rss_mb(pid):.0f} MB; prompt {len(prompt):,} characters")
            for name, extra in cases:
                body = {"model": "local-echo", "messages": message, **extra}
                print(f"{name}: {measure(gateway.url, pid, body)}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=40_000)
    parser.add_argument("--n", type=int, default=3)
    args = parser.parse_args()
    main(args.words, args.n)

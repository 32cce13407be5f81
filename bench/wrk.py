"""Load from ``wrk`` (compiled, epoll-based): the client is never what gets measured.

``lua/post.lua`` POSTs a JSON body and prints one ``BENCH_JSON {...}`` summary line
with latency percentiles that ``run`` parses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).parent / "lua" / "post.lua"
MARK = "BENCH_JSON "


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rps": self.rps}


def parse(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(MARK):
            raw = json.loads(line[len(MARK) :])
            errors = sum(
                raw[k]
                for k in (
                    "connect_errors",
                    "read_errors",
                    "write_errors",
                    "status_errors",
                    "timeout_errors",
                )
            )
            return WrkResult(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                errors=errors,
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                mean_ms=raw["mean_us"] / 1000,
            )
    raise RuntimeError(f"wrk printed no summary line:\n{output[-2000:]}")


def run(
    url: str,
    body: bytes,
    *,
    connections: int,
    seconds: float,
    key: str | None,
    cpus: str,
    timeout_s: int = 10,
) -> WrkResult:
    """One wrk run of ``seconds`` with ``connections`` kept-alive connections, one thread."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkMissing("wrk is not installed: run bench/setup (apt-get install -y wrk)")
    env = {**os.environ, "BENCH_BODY": body.decode(), "BENCH_KEY": key or ""}
    argv = [
        "taskset",
        "-c",
        cpus,
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(SCRIPT),
        url,
    ]
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + timeout_s + 30
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse(done.stdout)

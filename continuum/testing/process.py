"""``continuum serve`` in a child process, for tests and benchmarks that need a real one.

with gateway_process("--config-dir", "conf") as gateway:
    httpx.get(f"{gateway.url}/health")
    gateway.process.kill()   # e.g. to see what a hard kill loses
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from continuum.testing.server import free_port


@dataclass(frozen=True)
class GatewayProcess:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def gateway_process(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 20,
    port: int | None = None,
    log: Path | None = None,
) -> Iterator[GatewayProcess]:
    """Start ``python -m continuum serve --port <port> *args`` and wait until it is healthy.

    The port is a free one unless given (to write another process's config before
    starting both). The child gets this environment without ``CONTINUUM_*`` variables,
    plus ``env``. Its output goes to ``log`` when given, else nowhere.
    """
    port = port or free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    environment.update(env or {})
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "continuum", "serve", "--port", str(port), *args],
        env=environment,
        stdout=out,
        stderr=out,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"continuum serve {' '.join(args)} did not start")
            time.sleep(0.05)
        yield GatewayProcess(url, process)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]

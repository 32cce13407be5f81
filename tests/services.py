"""Real Redis and PostgreSQL for tests: the machine's, or a throwaway one, or a loud skip.

With ``CI=true`` a missing service fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from continuum.testing.server import free_port


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def unavailable(what: str) -> None:
    message = f"{what} is not available on this machine"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}, and CI must run these tests")
    pytest.skip(f"SKIPPED LOUDLY: {message}")


@contextmanager
def redis_server() -> Iterator[str]:
    """The machine's Redis on 6379, else a throwaway ``redis-server`` on a free port."""
    if _reachable("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("Redis (no server on 6379 and no redis-server binary)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _reachable("127.0.0.1", port):
            if time.monotonic() > deadline:
                unavailable("a throwaway redis-server")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


PG_URL = os.environ.get("CONTINUUM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_url() -> str:
    """The machine's PostgreSQL (database ``test``), or a loud skip / CI failure."""
    if not _reachable("127.0.0.1", 5432):
        unavailable("PostgreSQL on 127.0.0.1:5432")
    return PG_URL

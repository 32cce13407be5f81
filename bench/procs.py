"""Processes under measurement: started pinned to a core, watched through ``/proc``.

Every figure about a server (CPU seconds, resident memory) is read from the kernel for
the server's whole process tree, so a supervisor with worker processes counts in full.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FILES = 65536
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cores() -> int:
    return len(os.sched_getaffinity(0))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += _children(current)
    return pids


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid``'s tree (utime+stime of ``/proc/<pid>/stat``)."""
    total = 0
    for member in tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/stat") as f:
            # The command name may hold spaces: count fields after its closing parenthesis.
            fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid``'s tree (sum of each process's RSS)."""
    total = 0
    for member in tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/statm") as f:
            total += int(f.read().split()[1]) * PAGE
    return total


@dataclass
class Service:
    """A server process pinned to ``cpus``; stopped (with its tree) by ``stop``."""

    name: str
    argv: Sequence[str]
    port: int
    cpus: str
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def start(self, ready_timeout: float = 60.0) -> Service:
        env = {**os.environ, **self.env}
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            ["taskset", "-c", self.cpus, *self.argv],
            env=env,
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches workers too
        )
        self._wait_listening(ready_timeout)
        return self

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on port {self.port} in {timeout:.0f} s")

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def prepare_process(client_cpu: int) -> None:
    """Raise the open-files limit (inherited by the servers) and pin the harness."""
    # Thousands of held streams need thousands of descriptors here and in the gateway
    # (which inherits this limit): raise it as far as the kernel lets us.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (max(FILES, hard), hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(FILES, limit)), limit))
            break
    if cores() >= 2:
        os.sched_setaffinity(0, {client_cpu})

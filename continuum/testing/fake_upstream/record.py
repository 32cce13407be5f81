"""What a fake upstream saw: requests and connections, with monotonic timestamps.

The fake runs in its own thread, so the recorder is thread-safe and tests can wait
on it (``wait_closed``) from the test's thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(slots=True)
class SeenConnection:
    """One TCP connection. ``closed_at`` is set when it closes (by either side)."""

    id: int
    opened_at: float
    closed_at: float | None = None
    mid_stream: bool = False  # closed while an answer was still being written


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """One HTTP request as received."""

    connection: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class Recorder:
    """Thread-safe log of requests and connections."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.requests: list[SeenRequest] = []
        self.connections: dict[int, SeenConnection] = {}
        self._next = 0

    def opened(self) -> SeenConnection:
        with self._lock:
            self._next += 1
            seen = SeenConnection(self._next, time.monotonic())
            self.connections[seen.id] = seen
            return seen

    def closed(self, seen: SeenConnection, mid_stream: bool) -> None:
        with self._lock:
            seen.closed_at = time.monotonic()
            seen.mid_stream = mid_stream
            self._lock.notify_all()

    def request(self, seen: SeenRequest) -> None:
        with self._lock:
            self.requests.append(seen)
            self._lock.notify_all()

    def clear(self) -> None:
        """Forget requests and closed connections (open ones stay: they may be reused)."""
        with self._lock:
            self.requests.clear()
            self.connections = {k: c for k, c in self.connections.items() if c.closed_at is None}

    @property
    def last(self) -> SeenRequest:
        with self._lock:
            return self.requests[-1]

    def wait_requests(self, count: int, timeout: float = 5.0) -> list[SeenRequest]:
        """Block until at least ``count`` requests were seen; returns them."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"saw {len(self.requests)} requests, wanted {count}")
            return list(self.requests)

    def wait_closed(self, connection: int, timeout: float = 5.0) -> SeenConnection:
        """Block until connection ``connection`` has closed; returns its record."""
        with self._lock:
            seen = self.connections[connection]
            if not self._lock.wait_for(lambda: seen.closed_at is not None, timeout):
                raise TimeoutError(f"connection {connection} still open after {timeout}s")
            return seen

"""The gateway's clocks, injectable so tests move time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds for measuring intervals (cooldowns, caches, limit windows)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (key expiry, usage timestamps)."""
        ...


class SystemClock:
    """The real clocks."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

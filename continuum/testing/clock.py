"""A clock that only moves when told to: pass it to ``build_gateway`` or ``create_app``.

clock = ManualClock()
app = create_app(settings, clock=clock)
...
clock.advance(31)   # the cooldown is over, the key cache expired, the key has expired
"""

from __future__ import annotations

import time


class ManualClock:
    """Starts at the real time; ``advance`` moves both of its clocks together."""

    def __init__(self) -> None:
        self._monotonic = time.monotonic()
        self._time = time.time()

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._time

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._time += seconds

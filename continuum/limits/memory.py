"""Limits kept in this process: exact for one worker, per-worker with several (use Redis)."""

from __future__ import annotations

import time
from collections.abc import Callable

from continuum.core.context import RequestContext
from continuum.core.limits import LimitState, RateLimit, parse_rate_limit
from continuum.limits import gcra
from continuum.limits.base import Reservation, refused, split_key, state_key


class MemoryLimiter:
    """GCRA limits in this process's memory: exact for one worker (use Redis for several).

    ``clock`` is injectable so tests can move time instead of sleeping.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._tats: dict[str, float] = {}

    def reserve(self, ctx: RequestContext, estimated_tokens: int) -> Reservation:
        return Reservation(self, ctx, estimated_tokens)

    async def take(
        self, who: str, limits: tuple[RateLimit, ...], costs: list[int]
    ) -> list[LimitState]:
        now = self._clock()
        keys = [state_key("", who, limit) for limit in limits]
        planned: list[float] = []
        for key, limit, cost in zip(keys, limits, costs, strict=True):
            new_tat, wait = gcra.admit(self._tats.get(key, now), now, limit, cost)
            if wait > 0:
                raise refused(limit, wait, self._states(keys, limits, now))
            planned.append(new_tat)
        # No await between the checks and this write: the event loop makes it atomic.
        self._tats.update(zip(keys, planned, strict=True))
        return [gcra.state(tat, now, limit) for tat, limit in zip(planned, limits, strict=True)]

    def _states(
        self, keys: list[str], limits: tuple[RateLimit, ...], now: float
    ) -> list[LimitState]:
        return [
            gcra.state(self._tats.get(key, now), now, limit)
            for key, limit in zip(keys, limits, strict=True)
        ]

    async def adjust(self, who: str, limits: list[RateLimit], deltas: list[int]) -> None:
        now = self._clock()
        for limit, delta in zip(limits, deltas, strict=True):
            key = state_key("", who, limit)
            tat = max(self._tats.get(key, now), now) + delta * gcra.interval(limit)
            self._tats[key] = max(tat, now)

    async def stats(self, who: str | None = None) -> dict[str, list[LimitState]]:
        """Current use per identity (of one identity when ``who`` is given)."""
        now = self._clock()
        out: dict[str, list[LimitState]] = {}
        for key, tat in list(self._tats.items()):
            owner, spec = split_key("", key)
            if who is not None and owner != who:
                continue
            if tat <= now:
                del self._tats[key]  # fully refilled: forget it
                continue
            out.setdefault(owner, []).append(gcra.state(tat, now, parse_rate_limit(spec)))
        return out

    async def aclose(self) -> None:
        return None

"""GCRA (the generic cell rate algorithm) for ``N per window`` limits, as pure functions.

Each (identity, limit) keeps one number, the theoretical arrival time ``tat``: when
the bucket would be empty again. A request of ``cost`` units (1 for request limits,
tokens for token limits) moves it ``cost * T`` forward, where ``T = window / amount``;
it is admitted while ``tat`` stays within one window of now, so a fresh identity may
burst up to ``amount`` at once and then gets ``amount`` per window, evenly refilled.
The Redis limiter runs the same arithmetic in Lua (``redis_scripts.py``).
"""

from __future__ import annotations

import math

from continuum.core.limits import LimitState, RateLimit


def interval(limit: RateLimit) -> float:
    return limit.window_seconds / limit.amount


# Times are floats: ``now + 60 - 60 - now`` need not be 0. A microsecond of slack keeps
# rounding from refusing a request that is exactly on time (Redis's clock, in epoch
# seconds, only has a resolution of about 0.2 µs as a double).
EPSILON = 1e-6


def admit(tat: float, now: float, limit: RateLimit, cost: float) -> tuple[float, float]:
    """The new ``tat`` if ``cost`` is admitted, and the wait before it would be (0 if now)."""
    new_tat = max(tat, now) + cost * interval(limit)
    wait = new_tat - limit.window_seconds - now
    return new_tat, wait if wait > EPSILON else 0.0


def state(tat: float, now: float, limit: RateLimit) -> LimitState:
    backlog = max(tat - now, 0.0)
    remaining = math.floor((limit.window_seconds - backlog) / interval(limit) + EPSILON)
    return LimitState(limit, max(0, min(limit.amount, remaining)), backlog)


def cost(limit: RateLimit, estimated_tokens: int) -> int:
    """Requests cost one; tokens cost the estimate, capped so one request can always fit."""
    return 1 if limit.kind == "requests" else max(0, min(estimated_tokens, limit.amount))

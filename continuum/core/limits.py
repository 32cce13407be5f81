"""Rate limit values (``"N/second|minute|hour|day"``) and their strict parser.

Accepted forms, one limit each: ``"100/minute"`` (requests), ``"100 requests/minute"``,
``"50000 tokens/hour"``. Several limits are given as a list.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

WINDOWS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# Bounds keep hostile or mistyped values from turning into absurd arithmetic later.
MAX_AMOUNT = 10**12
_FORM = re.compile(
    r"^\s*(?P<amount>\d{1,13})\s*(?P<kind>requests?|tokens?)?\s*/\s*(?P<window>[a-z]+?)s?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RateLimit:
    amount: int
    window_seconds: int
    kind: Literal["requests", "tokens"] = "requests"
    # "100 requests/minute": made once, since limiters key their state by it per request.
    label: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        unit = next(name for name, secs in WINDOWS.items() if secs == self.window_seconds)
        object.__setattr__(self, "label", f"{self.amount} {self.kind}/{unit}")

    def __str__(self) -> str:
        return self.label


@dataclass(slots=True)
class LimitState:
    """What one limit looks like to the caller right now: data each door renders its own way
    (``x-ratelimit-*`` headers over HTTP, fields of a WebSocket or TCP error)."""

    limit: RateLimit
    remaining: int
    reset: float  # seconds until the limit is fully available again

    @property
    def used(self) -> int:
        return self.limit.amount - self.remaining


def duration(seconds: float) -> str:
    """OpenAI's reset format: ``250ms``, ``6s``, ``1m30s``, ``2h0m0s``."""
    seconds = round(seconds, 3)  # 360.00000000001 is 6m0s, not 6m1s
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def parse_rate_limit(text: object) -> RateLimit:
    """Parse one limit; raises ``ValueError`` with a message that says what is accepted."""
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError(f"expected a string like '100/minute', got {text!r:.80}")
    match = _FORM.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a rate limit; use 'N/second|minute|hour|day', "
            "optionally 'N tokens/minute' or 'N requests/minute'"
        )
    window = match["window"].lower()
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r} in {text!r}; use second, minute, hour or day")
    amount = int(match["amount"])
    if not 0 < amount <= MAX_AMOUNT:
        raise ValueError(f"amount in {text!r} must be between 1 and {MAX_AMOUNT}")
    kind_text = (match["kind"] or "requests").lower()
    kind: Literal["requests", "tokens"] = "tokens" if kind_text.startswith("token") else "requests"
    return RateLimit(amount=amount, window_seconds=WINDOWS[window], kind=kind)


def parse_rate_limits(value: object) -> tuple[RateLimit, ...]:
    """Parse ``None``, one limit string, or a list of them."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if len(items) > 32:
        raise ValueError("at most 32 rate limits per user")
    return tuple(parse_rate_limit(item) for item in items)

"""What the HTTP doors say in headers: the request id and the caller's rate limits."""

from __future__ import annotations

from collections.abc import Iterable

from continuum.core.context import RequestContext
from continuum.core.limits import LimitState, duration


def ratelimit_headers(states: Iterable[LimitState]) -> dict[str, str]:
    """``x-ratelimit-*`` from the tightest request limit and the tightest token limit."""
    out: dict[str, str] = {}
    states = list(states)
    for kind in ("requests", "tokens"):
        mine = [s for s in states if s.limit.kind == kind]
        if not mine:
            continue
        tightest = min(mine, key=lambda s: (s.remaining / s.limit.amount, -s.reset))
        out[f"x-ratelimit-limit-{kind}"] = str(tightest.limit.amount)
        out[f"x-ratelimit-remaining-{kind}"] = str(tightest.remaining)
        out[f"x-ratelimit-reset-{kind}"] = duration(tightest.reset)
    return out


def response_headers(ctx: RequestContext) -> dict[str, str]:
    headers = {"x-request-id": ctx.request_id}
    if ctx.limits:
        headers.update(ratelimit_headers(ctx.limits))
    return headers

"""What both limiter backends share: keys, the reservation object, the 429 error."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from continuum.core.context import RequestContext
from continuum.core.limits import LimitState, RateLimit, duration
from continuum.errors import RateLimited
from continuum.limits.gcra import cost


def identity(ctx: RequestContext) -> str:
    """Whom a request counts against (see ``RequestContext.subject``)."""
    return ctx.subject


def state_key(prefix: str, who: str, limit: RateLimit) -> str:
    return f"{prefix}{who}|{limit.label}"


def split_key(prefix: str, key: str) -> tuple[str, str]:
    who, _, limit = key.removeprefix(prefix).rpartition("|")
    return who, limit


def refused(limit: RateLimit, wait: float, states: list[LimitState]) -> RateLimited:
    """The 429 of ``limit``; ``states`` are all the caller's limits as they stand (unchanged)."""
    return RateLimited(
        f"Rate limit reached: {limit}. Try again in {duration(wait)}.",
        retry_after=wait,
        states=tuple(states),
    )


class Backend(Protocol):
    async def take(
        self, who: str, limits: tuple[RateLimit, ...], costs: list[int]
    ) -> list[LimitState]:
        """Admit all costs at once or raise ``RateLimited`` (changing nothing)."""
        ...

    async def adjust(self, who: str, limits: list[RateLimit], deltas: list[int]) -> None:
        """Charge (positive) or refund (negative) tokens after the fact."""
        ...


class Reservation:
    """One request's hold on its limits; settles token limits with real usage on exit."""

    __slots__ = ("_backend", "_costs", "_ctx", "_estimate", "_used")

    def __init__(self, backend: Backend, ctx: RequestContext, estimated_tokens: int):
        self._backend = backend
        self._ctx = ctx
        self._estimate = estimated_tokens
        self._costs: list[int] = []
        self._used: int | None = None

    def settle(self, tokens: int) -> None:
        self._used = tokens

    async def __aenter__(self) -> Reservation:
        limits = self._ctx.principal.limits
        if limits:
            self._costs = [cost(limit, self._estimate) for limit in limits]
            states = await self._backend.take(identity(self._ctx), limits, self._costs)
            self._ctx.limits = tuple(states)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        limits = self._ctx.principal.limits
        token_limits = [i for i, limit in enumerate(limits) if limit.kind == "tokens"]
        if not token_limits:
            return
        # The pipeline settles every request: with real usage, with what was relayed to a
        # client that left early, or with 0 when nothing was produced (the estimate is refunded).
        used = self._used or 0
        deltas = [used - self._costs[i] for i in token_limits]
        if any(deltas):
            await self._backend.adjust(
                identity(self._ctx), [limits[i] for i in token_limits], deltas
            )

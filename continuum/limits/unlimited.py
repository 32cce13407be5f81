"""The limiter for gateways without limits: admits everything, remembers nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from continuum.core.context import RequestContext


class _Settled:
    def settle(self, tokens: int) -> None:
        return None


class Unlimited:
    @asynccontextmanager
    async def reserve(self, ctx: RequestContext, estimated_tokens: int) -> AsyncIterator[_Settled]:
        yield _Settled()

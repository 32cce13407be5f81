"""The small Protocols the pipeline depends on. Concrete backends are named only in ``app``."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from continuum.core.context import Principal, RequestContext


class Authenticator(Protocol):
    async def authenticate(self, credential: str | None) -> Principal:
        """Return the principal behind a bearer credential or raise ``AuthenticationFailed``."""
        ...


class Reservation(Protocol):
    def settle(self, tokens: int) -> None:
        """Record the tokens really used; the limiter reconciles them on exit."""
        ...


class Limiter(Protocol):
    def reserve(
        self, ctx: RequestContext, estimated_tokens: int
    ) -> AbstractAsyncContextManager[Reservation]:
        """Take one request and an estimate of tokens, or raise ``RateLimited``."""
        ...


@dataclass(slots=True)
class UsageRecord:
    """One line of the usage ledger."""

    request_id: str
    user_id: str
    key_id: str | None
    model: str
    deployment: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    ttft_ms: float | None
    status: int
    error_code: str | None
    created: float


class Ledger(Protocol):
    def record(self, entry: UsageRecord) -> None:
        """Queue one record; must not block the request."""
        ...

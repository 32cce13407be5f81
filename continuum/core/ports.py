"""The small Protocols the pipeline depends on. Concrete backends are named only in ``app``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from continuum.core.context import Principal, RequestContext
from continuum.core.embedding import EmbeddingRequest, Embeddings
from continuum.core.events import Event
from continuum.core.limits import LimitState
from continuum.core.routes import Deployment, ModelRoute
from continuum.core.types import ChatRequest


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
        """Take one request and an estimate of tokens, or raise ``RateLimited``.

        On admission the limiter stores the caller's limit states in ``ctx.limits``.
        """
        ...

    async def stats(self, who: str | None = None) -> dict[str, list[LimitState]]:
        """Current use per identity (of one identity when ``who`` is given)."""
        ...

    async def aclose(self) -> None: ...


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
    door: str = "http"
    # Set by the ledger: with the ledger's origin, the key that makes writing it idempotent.
    seq: int = 0


class Ledger(Protocol):
    def record(self, entry: UsageRecord) -> None:
        """Queue one record; must not block the request."""
        ...


class Routes(Protocol):
    """The routing table: public model ids in configuration order."""

    def get(self, model: str) -> ModelRoute:
        """The route of ``model`` or ``ModelNotFound``."""
        ...

    def routes(self) -> list[ModelRoute]: ...


class Router(Protocol):
    def stream(
        self,
        route: ModelRoute,
        request: ChatRequest,
        attempt: list[Deployment] | None = None,
    ) -> AsyncGenerator[Event, None]:
        """The events of the first deployment that answers; ``attempt`` gets that deployment.

        Failures before the first event raise; failures after it are ``ErrorEvent``\\ s.
        """
        ...

    async def count_tokens(self, route: ModelRoute, request: ChatRequest) -> int | None:
        """The prompt tokens of ``request`` by the route's own tokenizer, None without one."""
        ...

    async def embed(
        self,
        route: ModelRoute,
        request: EmbeddingRequest,
        attempt: list[Deployment] | None = None,
    ) -> Embeddings:
        """The vectors from the first deployment that answers, with the same retries and
        fallbacks as chats; ``attempt`` gets that deployment."""
        ...

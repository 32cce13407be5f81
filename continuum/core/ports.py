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


class RequestObserver(Protocol):
    """Told about every request the pipeline serves: metrics and the access log.

    Called on the hot path, so an implementation must only add numbers or queue a line
    (a few microseconds); it never raises and never awaits.
    """

    def stream_opened(self, door: str) -> None:
        """A streamed answer began (one more open stream on ``door``)."""
        ...

    def stream_closed(self, door: str) -> None:
        """A streamed answer ended, whichever way."""
        ...

    def request_settled(self, record: UsageRecord) -> None:
        """A request ended, whatever its status, as the usage ledger records it (also
        told of requests refused before a model was chosen, which the ledger does not
        keep: an unknown model, a 404)."""
        ...


class RouterObserver(Protocol):
    """Told what the router does with upstreams: failures, retries, fallbacks, cooldowns."""

    def upstream_failed(self, deployment: str, code: str) -> None:
        """An attempt at ``deployment`` failed with the error ``code``."""
        ...

    def upstream_retried(self, deployment: str) -> None:
        """``deployment`` is tried again for the same request."""
        ...

    def fell_back(self, model: str, from_deployment: str, to_deployment: str) -> None:
        """A request of ``model`` moves to another deployment after failures."""
        ...

    def cooled_down(self, deployment: str) -> None:
        """``deployment`` is taken out of rotation for its cooldown."""
        ...


class NoObserver:
    """Observes nothing: the default of a pipeline or router built without one."""

    def stream_opened(self, door: str) -> None:
        pass

    def stream_closed(self, door: str) -> None:
        pass

    def request_settled(self, record: UsageRecord) -> None:
        pass

    def upstream_failed(self, deployment: str, code: str) -> None:
        pass

    def upstream_retried(self, deployment: str) -> None:
        pass

    def fell_back(self, model: str, from_deployment: str, to_deployment: str) -> None:
        pass

    def cooled_down(self, deployment: str) -> None:
        pass

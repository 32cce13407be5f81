"""The whole data path of a chat, in one place.

    authenticate ─► authorize model ─► reserve limits ─► route ─► provider events
        ─► settle limits ─► record usage

Doors call ``authenticate`` and then ``chat``; everything between the wire formats
happens here, against Protocols only.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from continuum.core.context import Principal, RequestContext
from continuum.core.events import ErrorEvent, Event, TextDelta, ToolCallDelta, Usage
from continuum.core.ports import Authenticator, Ledger, Limiter, UsageRecord
from continuum.core.types import ChatRequest
from continuum.errors import ContinuumError, ModelNotFound, PermissionDenied
from continuum.routing.router import Router
from continuum.routing.table import Deployment, ModelRoute, RoutingTable

# Without max_tokens we still have to reserve something; real usage settles it.
DEFAULT_COMPLETION_ESTIMATE = 256


def estimate_tokens(request: ChatRequest) -> int:
    """A cheap upper-bound guess (4 characters a token) used only to reserve limits."""
    chars = sum(len(m.text) for m in request.messages)
    completion = request.params.max_tokens or DEFAULT_COMPLETION_ESTIMATE
    return chars // 4 + 4 * len(request.messages) + completion * request.params.n


class Pipeline:
    def __init__(
        self,
        *,
        authenticator: Authenticator,
        table: RoutingTable,
        router: Router,
        limiter: Limiter,
        ledger: Ledger,
    ):
        self._authenticator = authenticator
        self.table = table
        self._router = router
        self._limiter = limiter
        self._ledger = ledger

    async def authenticate(self, credential: str | None) -> Principal:
        return await self._authenticator.authenticate(credential)

    def visible_models(self, principal: Principal) -> list[ModelRoute]:
        return [route for route in self.table.routes() if principal.may_use(route.id)]

    def visible_model(self, principal: Principal, model: str) -> ModelRoute:
        """A model the caller may use; others are reported as not existing."""
        route = self.table.get(model)
        if not principal.may_use(model):
            raise ModelNotFound(f"The model '{model}' does not exist", param="model")
        return route

    def authorize(self, principal: Principal, model: str) -> ModelRoute:
        route = self.table.get(model)
        if not principal.may_use(model):
            raise PermissionDenied(
                f"Your key is not permitted to use the model '{model}'", param="model"
            )
        return route

    async def chat(self, ctx: RequestContext, request: ChatRequest) -> AsyncGenerator[Event, None]:
        """The event stream of one chat.

        Failures before the first event raise from the first ``anext`` so a door can
        still answer with a status code; later failures arrive as an ``ErrorEvent``.
        """
        route = self.authorize(ctx.principal, request.model)
        served_by: list[Deployment] = []
        usage: Usage | None = None
        ttft: float | None = None
        status, error_code = 200, None
        try:
            async with self._limiter.reserve(ctx, estimate_tokens(request)) as reservation:
                try:
                    async for event in self._router.stream(route, request, served_by):
                        if ttft is None and isinstance(event, TextDelta | ToolCallDelta):
                            ttft = time.perf_counter() - ctx.started
                        elif isinstance(event, Usage):
                            usage = event
                        elif isinstance(event, ErrorEvent):
                            status, error_code = event.error.status, event.error.code
                        yield event
                finally:
                    if usage is not None:
                        reservation.settle(usage.total_tokens)
        except ContinuumError as error:
            status, error_code = error.status, error.code
            raise
        except BaseException:
            # Cancelled or closed early: the client went away (499, as nginx logs it).
            status, error_code = 499, "client_closed"
            raise
        finally:
            self._record(ctx, request, served_by, usage, ttft, status, error_code)

    def _record(
        self,
        ctx: RequestContext,
        request: ChatRequest,
        served_by: list[Deployment],
        usage: Usage | None,
        ttft: float | None,
        status: int,
        error_code: str | None,
    ) -> None:
        self._ledger.record(
            UsageRecord(
                request_id=ctx.request_id,
                user_id=ctx.subject,
                key_id=ctx.principal.key_id,
                model=request.model,
                deployment=served_by[0].name if served_by else None,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                latency_ms=(time.perf_counter() - ctx.started) * 1000,
                ttft_ms=ttft * 1000 if ttft is not None else None,
                status=status,
                error_code=error_code,
                created=time.time(),
            )
        )

"""The whole data path of a chat, in one place.

    open (authenticate, request id) ─► authorize model ─► reserve limits ─► route
        ─► provider events ─► settle limits ─► record usage

Doors call ``open`` and then ``chat`` (or ``embed``, the same steps for one answer of
vectors; or ``admit`` for a request that uses no model); everything between the wire
formats happens here, against Protocols only (``core/ports.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator

from continuum.core.context import Principal, RequestContext
from continuum.core.embedding import EmbeddingRequest, Embeddings, estimate_embedding_tokens
from continuum.core.events import ErrorEvent, Event, TextDelta, ToolCallDelta, Usage
from continuum.core.ids import RequestIds
from continuum.core.ports import (
    Authenticator,
    Ledger,
    Limiter,
    NoObserver,
    RequestObserver,
    Router,
    Routes,
    UsageRecord,
)
from continuum.core.public import public
from continuum.core.routes import Deployment, ModelRoute
from continuum.core.types import ChatRequest
from continuum.errors import ContinuumError, InternalError, ModelNotFound

# Without max_tokens we still have to reserve something; real usage settles it.
DEFAULT_COMPLETION_ESTIMATE = 256

log = logging.getLogger("continuum.pipeline")


def estimate_prompt_tokens(request: ChatRequest) -> int:
    """A cheap guess (4 characters a token, plus message framing)."""
    return sum(len(m.text) for m in request.messages) // 4 + 4 * len(request.messages)


def estimate_tokens(request: ChatRequest) -> int:
    """An upper-bound guess of a whole request, used only to reserve limits."""
    completion = request.params.max_tokens or DEFAULT_COMPLETION_ESTIMATE
    return estimate_prompt_tokens(request) + completion * request.params.n


class Pipeline:
    """Serves chats for every door: authentication, permissions, limits, routing, usage.

    One instance per gateway. It holds no per-request state: each request's state lives
    in its ``RequestContext`` and in the generator ``chat`` returns.
    """

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        table: Routes,
        router: Router,
        limiter: Limiter,
        ledger: Ledger,
        ids: RequestIds | None = None,
        observer: RequestObserver | None = None,
    ):
        self._authenticator = authenticator
        self.table = table
        self._router = router
        self._limiter = limiter
        self._ledger = ledger
        self._ids = ids or RequestIds()
        self.observer: RequestObserver = observer or NoObserver()

    def reconfigure(self, authenticator: Authenticator, table: Routes) -> None:
        """Serve another configuration's keys and routes (a config reload): both at once,
        between two steps of the loop. Requests already running keep their route."""
        self._authenticator = authenticator
        self.table = table

    async def authenticate(self, credential: str | None) -> Principal:
        return await self._authenticator.authenticate(credential)

    async def open(
        self,
        credential: str | None,
        *,
        door: str,
        prefix: str,
        client: str | None = None,
        user_id: str | None = None,
        guest: Principal | None = None,
    ) -> RequestContext:
        """Authenticate a caller and start one request: its context, with a fresh id.

        ``guest`` is the principal of a caller without a credential, for a door that
        admits such callers (seed 001's API, when configured); without it a missing
        credential fails as everywhere. A credential that is given is always checked.
        """
        if credential is None and guest is not None:
            principal = guest
        else:
            principal = await self._authenticator.authenticate(credential)
        return RequestContext(self._ids.new(prefix), principal, door, client, user_id)

    def new_id(self, prefix: str) -> str:
        return self._ids.new(prefix)

    def visible_models(self, principal: Principal) -> list[ModelRoute]:
        return [route for route in self.table.routes() if principal.may_use(route.id)]

    def visible_model(self, principal: Principal, model: str) -> ModelRoute:
        """A model the caller may use; others are reported as not existing."""
        route = self.table.get(model)
        if not principal.may_use(model):
            raise ModelNotFound(f"The model '{model}' does not exist", param="model")
        return route

    def authorize(self, principal: Principal, model: str) -> ModelRoute:
        """The route of a model the caller may use. A model it may not use is answered
        exactly like one that does not exist (``ModelNotFound``), so a restricted key
        cannot learn which other ids are served."""
        route = self.table.get(model)
        if not principal.may_use(model):
            raise ModelNotFound(f"The model '{model}' does not exist", param="model")
        return route

    async def count_tokens(self, ctx: RequestContext, request: ChatRequest) -> int:
        """The prompt tokens of ``request``, for a caller permitted to use its model.

        Counted by the tokenizer of the route's first deployment when its provider has one,
        else estimated (``estimate_prompt_tokens``). Nothing is generated, so no limit is
        taken and nothing is recorded.
        """
        route = self.authorize(ctx.principal, request.model)
        counted = await self._router.count_tokens(route, request)
        return counted if counted is not None else estimate_prompt_tokens(request)

    async def chat(self, ctx: RequestContext, request: ChatRequest) -> AsyncGenerator[Event, None]:
        r"""The event stream of one chat.

        Failures before the first event raise from the first ``anext`` so a door can
        still answer with a status code; later failures arrive as an ``ErrorEvent``.
        Whatever way the stream ends, the limits are settled and one usage record is
        written: with the upstream's usage when it came, else with the tokens relayed
        (a client that leaves early pays for what it was sent). A model its route
        ``serve``\ s in process (an agent) is authorized here and then handed over: each
        model call it makes comes back through ``chat`` and is limited and recorded.
        """
        try:
            route = self.authorize(ctx.principal, request.model)
        except ContinuumError as refused:  # observed (metrics, access log), not in the ledger
            self.observer.request_settled(self._usage(ctx, request.model, refused))
            raise
        if route.serve is not None:
            served = route.serve(ctx, request)
            try:
                async for event in served:
                    yield event
            finally:
                await served.aclose()
            return
        served_by: list[Deployment] = []
        usage: Usage | None = None
        ttft: float | None = None
        deltas = 0
        status, error_code = 200, None
        streamed = request.stream
        if streamed:
            self.observer.stream_opened(ctx.door)
        try:
            async with self._limiter.reserve(ctx, estimate_tokens(request)) as reservation:
                try:
                    async for event in self._router.stream(route, request, served_by):
                        kind = event.__class__
                        if kind is TextDelta or kind is ToolCallDelta:
                            deltas += 1
                            if ttft is None:
                                ttft = time.perf_counter() - ctx.started
                        elif kind is Usage:
                            usage = event  # type: ignore[assignment]
                        elif kind is ErrorEvent:
                            error = event.error  # type: ignore[union-attr]
                            if served_by:  # what the client reads names the model only
                                public(error, route, served_by[0])
                            status, error_code = error.status, error.code
                        yield event
                finally:
                    if usage is None and deltas:
                        usage = Usage(estimate_prompt_tokens(request), deltas)
                    reservation.settle(usage.total_tokens if usage is not None else 0)
        except ContinuumError as error:
            status, error_code = error.status, error.code
            raise
        except (asyncio.CancelledError, GeneratorExit):
            if status == 200:  # the client went away (499, as nginx logs it)
                status, error_code = 499, "client_closed"
            raise
        except Exception as error:
            status, error_code = 500, InternalError.code
            log.exception("request %s: unexpected failure", ctx.request_id)
            raise InternalError("The server had an error while processing your request.") from error
        finally:
            if streamed:
                self.observer.stream_closed(ctx.door)
            self._settle(
                self._entry(ctx, request.model, served_by, usage, ttft, status, error_code)
            )

    async def embed(self, ctx: RequestContext, request: EmbeddingRequest) -> Embeddings:
        """The vectors of one embeddings request, with the chat's steps: authorize the
        model, reserve the request and an estimate of its tokens, route (retries and
        fallback), settle with the tokens the model counted, record one usage line."""
        try:
            route = self.authorize(ctx.principal, request.model)
        except ContinuumError as refused:
            self.observer.request_settled(self._usage(ctx, request.model, refused))
            raise
        served_by: list[Deployment] = []
        usage: Usage | None = None
        status, error_code = 200, None
        try:
            async with self._limiter.reserve(ctx, estimate_embedding_tokens(request)) as held:
                found = await self._router.embed(route, request, served_by)
                usage = Usage(found.prompt_tokens, 0)
                held.settle(found.prompt_tokens)
                return found
        except ContinuumError as error:
            status, error_code = error.status, error.code
            raise
        except asyncio.CancelledError:
            status, error_code = 499, "client_closed"
            raise
        except Exception as error:
            status, error_code = 500, InternalError.code
            log.exception("request %s: unexpected failure", ctx.request_id)
            raise InternalError("The server had an error while processing your request.") from error
        finally:
            self._settle(
                self._entry(ctx, request.model, served_by, usage, None, status, error_code)
            )

    async def admit(self, ctx: RequestContext) -> None:
        """Count a request that uses no model (the Files API) against the caller's request
        limits; ``RateLimited`` when a limit refuses it. Nothing goes to the usage ledger:
        it records model use, and these requests have none."""
        async with self._limiter.reserve(ctx, 0):
            pass

    def _settle(self, record: UsageRecord) -> None:
        """A routed request's end: into the ledger, then to the observer."""
        self._ledger.record(record)
        self.observer.request_settled(record)

    def _usage(self, ctx: RequestContext, model: str, error: ContinuumError) -> UsageRecord:
        """The record of a request refused before it was routed (observed, not ledgered)."""
        return self._entry(ctx, model, [], None, None, error.status, error.code)

    def _entry(
        self,
        ctx: RequestContext,
        model: str,
        served_by: list[Deployment],
        usage: Usage | None,
        ttft: float | None,
        status: int,
        error_code: str | None,
    ) -> UsageRecord:
        return UsageRecord(
            request_id=ctx.request_id,
            user_id=ctx.subject,
            key_id=ctx.principal.key_id,
            model=model,
            deployment=served_by[0].name if served_by else None,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=(time.perf_counter() - ctx.started) * 1000,
            ttft_ms=ttft * 1000 if ttft is not None else None,
            status=status,
            error_code=error_code,
            created=time.time(),
            door=ctx.door,
        )

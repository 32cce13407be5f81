"""Runs a request on a route's deployments: weighted choice, retries, fallback, timeouts.

Everything here happens before the first event reaches the client. Once a deployment
has produced an event the stream is committed to it: a later failure ends the stream
with an ``ErrorEvent`` (never a silent truncation, never a replay of sent tokens).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from continuum.core.embedding import NO_EMBEDDINGS, EmbeddingRequest, Embeddings
from continuum.core.events import ErrorEvent, Event
from continuum.core.ports import NoObserver, RouterObserver
from continuum.core.public import public
from continuum.core.routes import Deployment, ModelRoute
from continuum.core.types import ChatRequest
from continuum.errors import (
    ContinuumError,
    InvalidRequest,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from continuum.providers.base import Embedder, Provider, TokenCounter
from continuum.routing.health import Health

log = logging.getLogger("continuum.routing")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` extra attempts on the same deployment, with exponential backoff and jitter."""

    retries: int = 1
    backoff: float = 0.05
    backoff_max: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return float(min(self.backoff_max, self.backoff * 2**attempt) * (0.5 + rng.random() / 2))


def _option(deployment: Deployment, key: str) -> float | None:
    value = deployment.options.get(key)
    return float(value) if value is not None else None


class Router:
    """Runs requests on their routes' deployments (the ``Router`` protocol of ``core/ports.py``).

    Deployment order is weighted and skips those cooling down after failures (``Health``);
    retryable failures before the first event are retried with backoff (or after the
    upstream's own ``Retry-After`` when it is short enough), then fall back to the next
    deployment. Client-visible messages name the public model id; the deployment, whose
    name carries the upstream's address, goes to the log only.
    """

    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        retry: RetryPolicy | None = None,
        health: Health | None = None,
        rng: random.Random | None = None,
        observer: RouterObserver | None = None,
    ):
        self._providers = providers
        self._observer: RouterObserver = observer or NoObserver()
        self.retry = retry or RetryPolicy()
        self.health = health or Health()
        self._rng = rng or random.Random()

    def provider(self, deployment: Deployment) -> Provider:
        return self._providers[deployment.provider]

    def order(self, route: ModelRoute) -> list[Deployment]:
        """Healthy deployments in weighted-random order, then cooling ones, soonest back first.

        Weighted order without replacement: sort by ``u ** (1 / weight)`` (Efraimidis-Spirakis),
        so a deployment of weight 3 leads three times as often as one of weight 1.
        """
        deployments = route.deployments
        if len(deployments) == 1:
            return list(deployments)
        healthy = [d for d in deployments if self.health.available(d.name)]
        cooling = sorted(
            (d for d in deployments if not self.health.available(d.name)),
            key=lambda d: self.health.cooling_until(d.name),
        )
        healthy.sort(key=lambda d: self._rng.random() ** (1 / d.weight), reverse=True)
        return healthy + cooling

    async def _first(
        self,
        route: ModelRoute,
        deployment: Deployment,
        request: ChatRequest,
        deadline: float | None,
    ) -> tuple[Event | None, AsyncGenerator[Event, None]]:
        """Open one attempt and wait for its first event within the first-token timeout."""
        events = self.provider(deployment).stream_chat(request, deployment)
        limit = _option(deployment, "first_token_timeout") or _option(deployment, "timeout")
        if deadline is not None:
            remaining = deadline - time.monotonic()
            limit = remaining if limit is None else min(limit, remaining)
        try:
            if limit is None:  # the common case: no timer to arm
                return await anext(events), events
            async with asyncio.timeout(limit):
                return await anext(events), events
        except StopAsyncIteration:
            return None, events
        except TimeoutError:
            await events.aclose()
            log.warning("%s sent nothing within %.3g s", deployment.name, limit)
            raise UpstreamTimeout(
                f"The model '{route.id}' sent nothing within {limit:.3g} s"
            ) from None
        except BaseException:
            await events.aclose()
            raise

    async def stream(
        self,
        route: ModelRoute,
        request: ChatRequest,
        attempt: list[Deployment] | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Yield the events of the first deployment that produces one.

        Retryable failures before the first event are retried with backoff, then fall
        back to the next deployment; a non-retryable one is raised at once. The route's
        ``timeout`` bounds the whole request. ``attempt`` receives the deployment that
        served it.
        """
        deadline = time.monotonic() + route.timeout if route.timeout else None

        async def first(deployment: Deployment) -> tuple[Event | None, AsyncGenerator[Event, None]]:
            return await self._first(route, deployment, request, deadline)

        deployment, (event, events) = await self._run(route, self.order(route), first, deadline)
        if attempt is not None:
            attempt.append(deployment)
        if event is None:
            return
        async for relayed in self._relay(route, event, events, deployment, deadline):
            yield relayed

    async def embed(
        self,
        route: ModelRoute,
        request: EmbeddingRequest,
        attempt: list[Deployment] | None = None,
    ) -> Embeddings:
        """The vectors of the first deployment that answers, with the retries, fallbacks
        and timeouts of ``stream``. Deployments whose provider makes no embeddings are
        skipped; a route with none is refused with 400 (its model is a chat model)."""
        capable = [d for d in self.order(route) if isinstance(self.provider(d), Embedder)]
        if not capable:
            raise InvalidRequest(
                f"The model '{route.id}' does not make embeddings",
                param="model",
                code=NO_EMBEDDINGS,
            )
        deadline = time.monotonic() + route.timeout if route.timeout else None

        async def once(deployment: Deployment) -> Embeddings:
            provider = self.provider(deployment)
            assert isinstance(provider, Embedder)
            limit = _option(deployment, "timeout")
            if deadline is not None:
                remaining = deadline - time.monotonic()
                limit = remaining if limit is None else min(limit, remaining)
            call = provider.embed(request.inputs, deployment, dimensions=request.dimensions)
            try:
                async with asyncio.timeout(limit):
                    vectors, tokens = await call
            except TimeoutError:
                log.warning("%s sent no embeddings within %.3g s", deployment.name, limit)
                raise UpstreamTimeout(
                    f"The model '{route.id}' sent nothing within {limit:.3g} s"
                ) from None
            if len(vectors) != len(request.inputs):
                raise UpstreamError(
                    f"The model '{route.id}' sent {len(vectors)} vectors for "
                    f"{len(request.inputs)} inputs"
                )
            return Embeddings(vectors, tokens)

        deployment, found = await self._run(route, capable, once, deadline)
        if attempt is not None:
            attempt.append(deployment)
        return found

    async def _run(
        self,
        route: ModelRoute,
        deployments: list[Deployment],
        once: Callable[[Deployment], Awaitable[T]],
        deadline: float | None,
    ) -> tuple[Deployment, T]:
        """``once`` on each deployment in turn until one succeeds: retryable failures are
        retried with backoff, then fall back to the next; others are raised at once."""
        retries = self.retry.retries if route.retries is None else route.retries
        last_error: ContinuumError | None = None
        observer = self._observer
        failed: Deployment | None = None
        for deployment in deployments:
            if failed is not None:
                observer.fell_back(route.id, failed.name, deployment.name)
            wait = 0.0
            for tries in range(retries + 1):
                if tries:
                    observer.upstream_retried(deployment.name)
                    await asyncio.sleep(wait)
                if deadline is not None and time.monotonic() >= deadline:
                    raise last_error or UpstreamTimeout(
                        f"The model '{route.id}' timed out after {route.timeout} s"
                    )
                try:
                    found = await once(deployment)
                except ContinuumError as error:
                    public(error, route, deployment)
                    log.info("%s failed (%s): %s", deployment.name, error.code, error.message)
                    observer.upstream_failed(deployment.name, error.code)
                    if not error.retryable:
                        raise
                    failed = deployment
                    if self.health.failed(deployment.name):
                        observer.cooled_down(deployment.name)
                    last_error = error
                    pause = self._wait(error, tries, deadline)
                    if pause is None:
                        break  # the upstream asked for longer than we may wait: next deployment
                    wait = pause
                    continue
                self.health.succeeded(deployment.name)
                return deployment, found
        raise last_error or UpstreamUnavailable(f"no deployment can serve '{route.id}'")

    async def count_tokens(self, route: ModelRoute, request: ChatRequest) -> int | None:
        """The prompt tokens of ``request`` by the tokenizer of the route's first deployment,
        when its provider has one (None: it has not, estimate)."""
        deployment = route.deployments[0]
        # getattr, not isinstance: a runtime Protocol check costs ~9 µs a request.
        count: TokenCounter | None = getattr(self.provider(deployment), "count_tokens", None)
        if count is None:
            return None
        return await count(request, deployment)

    def _wait(self, error: ContinuumError, tries: int, deadline: float | None) -> float | None:
        """The pause before the next try: backoff, or the upstream's ``Retry-After`` when it
        fits in ``backoff_max`` and the deadline (None: do not retry this deployment)."""
        wait = self.retry.delay(tries, self._rng)
        if error.retry_after is not None:
            if error.retry_after > self.retry.backoff_max:
                return None
            wait = max(wait, error.retry_after)
        if deadline is not None and time.monotonic() + wait >= deadline:
            return None
        return wait

    async def _relay(
        self,
        route: ModelRoute,
        first: Event,
        events: AsyncGenerator[Event, None],
        deployment: Deployment,
        deadline: float | None,
    ) -> AsyncGenerator[Event, None]:
        """The committed stream, bounded by the deployment's total ``timeout``."""
        total = _option(deployment, "timeout")
        ends = time.monotonic() + total if total else None
        if deadline is not None:
            ends = deadline if ends is None else min(ends, deadline)
        try:
            yield first
            if ends is None:
                async for event in events:
                    if event.__class__ is ErrorEvent:  # a failure after the first event
                        self._observer.upstream_failed(deployment.name, event.error.code)
                    yield event
                return
            while True:
                try:
                    async with asyncio.timeout_at(_loop_time(ends)):
                        event = await anext(events)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    log.warning("%s did not finish in time", deployment.name)
                    message = f"The model '{route.id}' did not finish in time"
                    self._observer.upstream_failed(deployment.name, UpstreamTimeout.code)
                    yield ErrorEvent(UpstreamTimeout(message))
                    return
                if event.__class__ is ErrorEvent:
                    self._observer.upstream_failed(deployment.name, event.error.code)
                yield event
        finally:
            await events.aclose()


def _loop_time(monotonic_deadline: float) -> float:
    """Convert a ``time.monotonic`` deadline to the running loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - time.monotonic())

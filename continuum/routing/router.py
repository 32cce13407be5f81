"""Runs a request on a route's deployments, falling back while nothing has been sent."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

from continuum.core.events import Event
from continuum.core.types import ChatRequest
from continuum.errors import ContinuumError, UpstreamUnavailable
from continuum.providers.base import Provider
from continuum.routing.table import Deployment, ModelRoute


class Router:
    def __init__(self, providers: Mapping[str, Provider]):
        self._providers = providers

    def provider(self, deployment: Deployment) -> Provider:
        return self._providers[deployment.provider]

    async def stream(
        self, route: ModelRoute, request: ChatRequest, attempt: list[Deployment] | None = None
    ) -> AsyncGenerator[Event, None]:
        """Yield the events of the first deployment that produces one.

        A retryable failure before the first event moves on to the next deployment;
        after the first event the stream is committed to its deployment. ``attempt``,
        when given, receives the deployment that served the request.
        """
        last_error: ContinuumError | None = None
        for deployment in route.deployments:
            events = self.provider(deployment).stream_chat(request, deployment)
            try:
                first = await anext(events)
            except StopAsyncIteration:
                return
            except ContinuumError as error:
                await events.aclose()
                if not error.retryable:
                    raise
                last_error = error
                continue
            if attempt is not None:
                attempt.append(deployment)
            try:
                yield first
                async for event in events:
                    yield event
            finally:
                await events.aclose()
            return
        raise last_error or UpstreamUnavailable(f"no deployment can serve '{route.id}'")

"""Direct dispatch of the hot routes, around FastAPI's per-request layers.

Every request through FastAPI passes its middleware stack (server errors, exception
handlers, an exit stack, body-limit and telemetry wrappers), the route matcher and the
dependency solver before our endpoint runs; for a chat completion that was about half
of the door's CPU time (see docs/performance.md). ``HttpApp`` sends the few routes
registered with ``fast_route`` straight to their endpoint, with the same error
boundary the exception handlers give, and everything else (docs, OpenAPI, 404/405,
the other routes) through FastAPI as before. The endpoints stay ordinary FastAPI
routes too, so the OpenAPI document and the docs are unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from continuum.doors.http.errors import ErrorShapes, shapes_of, unexpected
from continuum.errors import ContinuumError

Endpoint = Callable[[Request], Awaitable[Response]]


async def serve(endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
    """Run one endpoint with the door's error boundary (the OpenAI error object)."""
    request = Request(scope, receive)
    try:
        response = await endpoint(request)
    except ContinuumError as error:
        response = shapes_of(request).render(request, error)
    except Exception:  # noqa: BLE001 - the door's outermost boundary: log it, answer a 500
        response = unexpected(request)
    await response(scope, receive, send)


class HttpApp(FastAPI):
    """FastAPI with a short way in for the hot routes (see the module docstring)."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._fast: dict[tuple[str, str], Endpoint] = {}
        self.error_shapes = ErrorShapes()

    def fast_route(self, method: str, path: str, endpoint: Endpoint) -> None:
        """Dispatch ``method path`` (exact) straight to ``endpoint``."""
        self._fast[(method, path)] = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self._fast.get((scope["method"], scope["path"]))
            if endpoint is not None:
                scope["app"] = self
                await serve(endpoint, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

"""Where HTTP errors get their wire shape: one renderer per API family, chosen by path.

Every HTTP route raises from the one error tree; the renderer of the route's API
(the OpenAI error object by default; other dialects register their own for their
paths) turns it into a response, with the request id and rate-limit headers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from continuum.dialects.openai.errors import error_json, retry_after_header
from continuum.doors.http.headers import ratelimit_headers, response_headers
from continuum.doors.http.services import context_of
from continuum.errors import (
    ContinuumError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    SchemaViolation,
)

log = logging.getLogger("continuum.http")

Render = Callable[[ContinuumError, dict[str, str]], Response]
"""Turns an error and the headers it must carry into a response."""


def openai_response(error: ContinuumError, headers: dict[str, str]) -> Response:
    return Response(
        error_json(error), status_code=error.status, media_type="application/json", headers=headers
    )


def error_headers(request: Request, error: ContinuumError) -> dict[str, str]:
    """The request id and limits (a refusal's own limit states first), and ``Retry-After``."""
    ctx = context_of(request)
    headers = response_headers(ctx) if ctx is not None else {}
    if isinstance(error, RateLimited) and error.states:
        headers.update(ratelimit_headers(error.states))
    retry_after = retry_after_header(error)
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if isinstance(error, RequestTimeout | PayloadTooLarge):
        # The rest of the body was not read (it may never come): end the connection.
        headers["connection"] = "close"
    return headers


class ErrorShapes:
    """The renderer for each path prefix (longest first); the OpenAI object otherwise."""

    def __init__(self) -> None:
        self._by_prefix: list[tuple[str, Render]] = []

    def add(self, prefix: str, render: Render) -> None:
        self._by_prefix.append((prefix, render))
        self._by_prefix.sort(key=lambda item: -len(item[0]))

    def render(self, request: Request, error: ContinuumError) -> Response:
        path = request.url.path
        render = next((r for p, r in self._by_prefix if path.startswith(p)), openai_response)
        return render(error, error_headers(request, error))


_OPENAI_ONLY = ErrorShapes()


def shapes_of(request: Request) -> ErrorShapes:
    """The app's shapes (``HttpApp.error_shapes``); the OpenAI object for any other app."""
    shapes: ErrorShapes = getattr(request.app, "error_shapes", _OPENAI_ONLY)
    return shapes


def unexpected(request: Request) -> Response:
    """The door's outermost boundary: log the bug with the request id, answer a clean 500."""
    ctx = context_of(request)
    log.exception(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.url.path,
        ctx.request_id if ctx else "-",
    )
    error = InternalError("The server had an error while processing your request.")
    return shapes_of(request).render(request, error)


async def _continuum(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ContinuumError)
    return shapes_of(request).render(request, exc)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at this path (Starlette's own 405 names
    only the first route's, while a path often has one route per method). Asked of the
    routes themselves, method by method: only a 405 pays for it."""
    routes = request.app.routes
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    target = f"{request.method} {request.url.path}"
    error: ContinuumError
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        error = NotFound(f"Unknown request URL: {target}. Please check the URL and method.")
    elif exc.status_code == 405:
        allowed = allowed_methods(request)
        error = MethodNotAllowed(f"Method not allowed: {target}. Allowed: {', '.join(allowed)}.")
        headers["allow"] = ", ".join(allowed)
        headers.pop("Allow", None)
    else:
        error = InvalidRequest(str(exc.detail))
        error.status = exc.status_code
    response = shapes_of(request).render(request, error)
    response.headers.update(headers)
    return response


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = ".".join(str(p) for p in first["loc"][1:]) or None
    return shapes_of(request).render(
        request, SchemaViolation(f"{first['msg']} ({param})", param=param)
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    return unexpected(request)


def install(app: FastAPI) -> None:
    """Route every error FastAPI sees through the app's shapes."""
    app.add_exception_handler(ContinuumError, _continuum)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)

"""The one place HTTP errors get their wire shape: the OpenAI error object."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from continuum.errors import (
    ContinuumError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    SchemaViolation,
)

log = logging.getLogger("continuum.http")


def error_response(error: ContinuumError, headers: dict[str, str] | None = None) -> Response:
    extra = dict(headers or {})
    if isinstance(error, RateLimited):
        extra["retry-after"] = str(max(1, round(error.retry_after + 0.499)))
    return Response(
        orjson.dumps(error.to_dict()),
        status_code=error.status,
        media_type="application/json",
        headers=extra,
    )


async def _continuum(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ContinuumError)
    return error_response(exc, getattr(request.state, "response_headers", None))


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    target = f"{request.method} {request.url.path}"
    error: ContinuumError
    if exc.status_code == 404:
        error = NotFound(f"Unknown request URL: {target}. Please check the URL and method.")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"Method not allowed: {target}.")
    else:
        error = InvalidRequest(str(exc.detail))
        error.status = exc.status_code
    return error_response(error, dict(exc.headers or {}))


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = ".".join(str(p) for p in first["loc"][1:]) or None
    return error_response(SchemaViolation(f"{first['msg']} ({param})", param=param))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ContinuumError("The server had an error while processing your request."))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ContinuumError, _continuum)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)

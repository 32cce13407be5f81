"""The error tree in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}}``.

Statuses and types as Anthropic publishes them (https://docs.anthropic.com/en/api/errors,
and the ``anthropic`` SDK's error objects): 400 ``invalid_request_error`` (also for the
other 4xx it does not list), 401 ``authentication_error``, 403 ``permission_error``,
404 ``not_found_error``, 413 ``request_too_large``, 429 ``rate_limit_error``, 500
``api_error``, 504 ``timeout_error``, 529 ``overloaded_error``. Where the gateway's own
status has no Anthropic twin it takes the nearest one:

    SchemaViolation (422)               400 invalid_request_error
    UpstreamUnavailable (503)           529 overloaded_error
    StateUnavailable (503)              529 overloaded_error (temporary: try again later)
    UpstreamTimeout (504)               504 timeout_error
    UpstreamError, UpstreamRejected     500 api_error (the message says what failed)
    UpstreamRateLimited                 429 rate_limit_error
"""

from __future__ import annotations

from typing import Any

import orjson

from continuum.errors import (
    AuthenticationFailed,
    ClientClosed,
    ContinuumError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    StateUnavailable,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

# Most specific class first: the first one an error is an instance of decides.
_KINDS: tuple[tuple[type[ContinuumError], int, str], ...] = (
    (PayloadTooLarge, 413, "request_too_large"),
    (InvalidRequest, 400, "invalid_request_error"),
    (AuthenticationFailed, 401, "authentication_error"),
    (PermissionDenied, 403, "permission_error"),
    (NotFound, 404, "not_found_error"),
    (RateLimited, 429, "rate_limit_error"),
    (UpstreamRateLimited, 429, "rate_limit_error"),
    (UpstreamUnavailable, 529, "overloaded_error"),
    (StateUnavailable, 529, "overloaded_error"),
    (UpstreamTimeout, 504, "timeout_error"),
    (UpstreamError, 500, "api_error"),
    (ClientClosed, 499, "api_error"),  # never read: the client has gone
)
_FALLBACK = (500, "api_error")


def status_and_type(error: ContinuumError) -> tuple[int, str]:
    """The HTTP status and Anthropic error type of ``error``."""
    found = next(((s, t) for base, s, t in _KINDS if isinstance(error, base)), None)
    if found is not None:
        status, kind = found
        if kind == "invalid_request_error" and 400 < error.status < 500 and error.status != 422:
            status = error.status  # a 4xx of its own (an HTTP layer's): kept, as Anthropic does
        return status, kind
    if 400 <= error.status < 500:  # 405 and other statuses Anthropic does not list
        return error.status, "invalid_request_error"
    return _FALLBACK


def error_object(error: ContinuumError, request_id: str | None = None) -> dict[str, Any]:
    """The error body (an ``error`` stream event has the same shape)."""
    body: dict[str, Any] = {
        "type": "error",
        "error": {"type": status_and_type(error)[1], "message": error.message},
    }
    if request_id:
        body["request_id"] = request_id
    return body


def error_json(error: ContinuumError, request_id: str | None = None) -> bytes:
    return orjson.dumps(error_object(error, request_id))

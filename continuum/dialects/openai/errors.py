"""The error tree in the OpenAI error object: ``{"error": {message, type, param, code}}``.

The one place the tree meets OpenAI's ``type`` strings, and ``Retry-After``'s rounding.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from continuum.errors import (
    AuthenticationFailed,
    ContinuumError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    RateLimited,
    UpstreamError,
)

# Most specific class first; the first one an error is an instance of names its type.
_TYPES: tuple[tuple[type[ContinuumError], str], ...] = (
    (InvalidRequest, "invalid_request_error"),
    (AuthenticationFailed, "invalid_request_error"),
    (PermissionDenied, "permission_error"),
    (NotFound, "invalid_request_error"),
    (MethodNotAllowed, "invalid_request_error"),
    (RateLimited, "rate_limit_error"),
    (UpstreamError, "upstream_error"),
)
_CACHE: dict[type[ContinuumError], str] = {}


def error_type(error: ContinuumError) -> str:
    kind = error.__class__
    found = _CACHE.get(kind)
    if found is None:
        found = next((name for base, name in _TYPES if issubclass(kind, base)), "server_error")
        _CACHE[kind] = found
    return found


def error_object(error: ContinuumError) -> dict[str, Any]:
    return {
        "error": {
            "message": error.message,
            "type": error_type(error),
            "param": error.param,
            "code": error.code,
        }
    }


def error_json(error: ContinuumError) -> bytes:
    return orjson.dumps(error_object(error))


def retry_after_header(error: ContinuumError) -> str | None:
    """Whole seconds, rounded up and at least 1, as ``Retry-After`` must be."""
    if error.retry_after is None:
        return None
    return str(max(1, math.ceil(error.retry_after - 1e-3)))

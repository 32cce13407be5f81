"""The one error tree of Continuum, wire-neutral.

Every failure a request can meet is one of these classes. Each class knows its status
(HTTP's numbers, which the WebSocket and TCP doors reuse as error codes), a stable
``code`` string, whether a router may retry the request elsewhere, and, for limits, how
long to wait. Nothing here knows a wire shape: each dialect maps the tree to its own
once (the OpenAI error object in ``continuum.dialects.openai.errors``).

    ContinuumError                       500 internal_error
    ├── InternalError                    500 internal_error (a bug; logged with the request id)
    ├── InvalidRequest                   400 invalid_request
    │   ├── MalformedJSON                400 invalid_json
    │   ├── SchemaViolation              400 invalid_value (param names the field)
    │   ├── PayloadTooLarge              413 payload_too_large
    │   └── RequestTimeout               408 request_timeout (the body came too slowly)
    ├── AuthenticationFailed             401 invalid_api_key
    ├── PermissionDenied                 403 model_not_permitted
    ├── NotFound                         404 not_found
    │   └── ModelNotFound                404 model_not_found
    ├── MethodNotAllowed                 405 method_not_allowed
    ├── RateLimited                      429 rate_limit_exceeded (retry_after)
    ├── ClientClosed                     499 client_closed (the client went away)
    ├── UpstreamError                    502 upstream_error (retryable)
    │   ├── UpstreamUnavailable          503 (retryable)
    │   ├── UpstreamRateLimited          429 (retryable; retry_after when the upstream said)
    │   ├── UpstreamTimeout              504 (retryable)
    │   └── UpstreamRejected             502 (not retryable: the upstream refused us)
    ├── StateUnavailable                 503 (Redis/database unreachable; fail closed)
    ├── NotConfigured                    503 not_configured (a feature needs a setting)
    └── ConfigError                      raised at start-up only, never on a request
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from continuum.core.limits import LimitState


class ContinuumError(Exception):
    """Base of every error Continuum raises on purpose."""

    status: int = 500
    code: str = "internal_error"
    retryable: bool = False
    retry_after: float | None = None  # seconds a client should wait before trying again

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InternalError(ContinuumError):
    """An unexpected failure (a bug): logged with the request id where it happened."""


class InvalidRequest(ContinuumError):
    status = 400
    code = "invalid_request"


class MalformedJSON(InvalidRequest):
    code = "invalid_json"


class SchemaViolation(InvalidRequest):
    """A body that is JSON but breaks the schema: 400, as OpenAI's API and SDKs expect."""

    code = "invalid_value"


class PayloadTooLarge(InvalidRequest):
    status = 413
    code = "payload_too_large"


class RequestTimeout(InvalidRequest):
    """The client did not send its whole request in time."""

    status = 408
    code = "request_timeout"


class AuthenticationFailed(ContinuumError):
    status = 401
    code = "invalid_api_key"


class PermissionDenied(ContinuumError):
    status = 403
    code = "model_not_permitted"


class NotFound(ContinuumError):
    status = 404
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(ContinuumError):
    status = 405
    code = "method_not_allowed"


class RateLimited(ContinuumError):
    """A limit refused the request. ``states`` are the caller's limits at that moment."""

    status = 429
    code = "rate_limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        param: str | None = None,
        states: tuple[LimitState, ...] = (),
    ):
        super().__init__(message, param=param)
        self.retry_after = retry_after
        self.states = states


class ClientClosed(ContinuumError):
    """The client went away before the answer was complete (recorded as 499, as nginx does)."""

    status = 499
    code = "client_closed"


class UpstreamError(ContinuumError):
    """The provider behind a model failed; safe to retry elsewhere unless a subclass says no."""

    status = 502
    code = "upstream_error"
    retryable = True


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream_unavailable"


class UpstreamRateLimited(UpstreamError):
    status = 429
    code = "upstream_rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class UpstreamRejected(UpstreamError):
    """The upstream refused the request itself (bad key, bad request): retrying cannot help."""

    code = "upstream_rejected"
    retryable = False


class StateUnavailable(ContinuumError):
    """A shared state backend (Redis, the database) cannot be reached.

    Limits fail closed: letting requests through unchecked would let one broken
    dependency turn every limit off.
    """

    status = 503
    code = "state_unavailable"


class NotConfigured(ContinuumError):
    """A request needs a feature the operator has not configured (say, stream sessions
    without a JWT secret); the message names the setting."""

    status = 503
    code = "not_configured"


class ConfigError(ContinuumError):
    """Invalid configuration, found at start-up. The message names the file, key and fix."""

    code = "config_error"

    def __init__(self, file: str, key: str, problem: str, fix: str):
        super().__init__(f"{file}: {key}: {problem}. Fix: {fix}")
        self.file = file
        self.key = key

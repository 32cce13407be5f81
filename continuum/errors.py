"""The one error tree of Continuum.

Every failure a request can meet is one of these classes. Each class knows the
HTTP status it maps to, the OpenAI-style ``type`` and ``code`` strings, and whether
a router may retry the request on another attempt. Doors translate them to their
wire shape exactly once (see ``continuum.doors.http.errors``).

    ContinuumError                       500 server_error
    ├── InvalidRequest                   400 invalid_request_error
    │   ├── MalformedJSON                400   code=invalid_json
    │   ├── SchemaViolation              422   code=invalid_value (param names the field)
    │   └── PayloadTooLarge              413   code=payload_too_large
    ├── AuthenticationFailed             401 invalid_request_error code=invalid_api_key
    ├── PermissionDenied                 403 permission_error      code=model_not_permitted
    ├── NotFound                         404 invalid_request_error code=not_found
    │   └── ModelNotFound                404                       code=model_not_found
    ├── MethodNotAllowed                 405 invalid_request_error code=method_not_allowed
    ├── RateLimited                      429 rate_limit_error      code=rate_limit_exceeded
    ├── UpstreamError                    502 upstream_error        (retryable)
    │   ├── UpstreamUnavailable          503 (retryable)
    │   ├── UpstreamRateLimited          429 (retryable)
    │   ├── UpstreamTimeout              504 (retryable)
    │   └── UpstreamRejected             502 (not retryable: the upstream refused us)
    ├── StateUnavailable                 503 (Redis/database unreachable; fail closed)
    └── ConfigError                      raised at start-up only, never on a request
"""

from __future__ import annotations


class ContinuumError(Exception):
    """Base of every error Continuum raises on purpose."""

    status: int = 500
    type: str = "server_error"
    code: str | None = "internal_error"
    retryable: bool = False

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        """The OpenAI error object body: ``{"error": {message, type, param, code}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(ContinuumError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class MalformedJSON(InvalidRequest):
    code = "invalid_json"


class SchemaViolation(InvalidRequest):
    status = 422
    code = "invalid_value"


class PayloadTooLarge(InvalidRequest):
    status = 413
    code = "payload_too_large"


class AuthenticationFailed(ContinuumError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(ContinuumError):
    status = 403
    type = "permission_error"
    code = "model_not_permitted"


class NotFound(ContinuumError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(ContinuumError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class RateLimited(ContinuumError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: float, param: str | None = None):
        super().__init__(message, param=param)
        self.retry_after = retry_after


class UpstreamError(ContinuumError):
    """The provider behind a model failed; safe to retry elsewhere unless a subclass says no."""

    status = 502
    type = "upstream_error"
    code = "upstream_error"
    retryable = True


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream_unavailable"


class UpstreamRateLimited(UpstreamError):
    status = 429
    code = "upstream_rate_limited"


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


class ConfigError(ContinuumError):
    """Invalid configuration, found at start-up. The message names the file, key and fix."""

    code = "config_error"

    def __init__(self, file: str, key: str, problem: str, fix: str):
        super().__init__(f"{file}: {key}: {problem}. Fix: {fix}")
        self.file = file
        self.key = key

"""What the shipped clients raise.

ClientError
├── ServerError        an ERROR frame: status, code, message, param, retry_after
├── GoingAway          a new request after the server's GOAWAY
└── ConnectionClosed   the connection ended before the request did
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error of ``continuum.client``."""


class ServerError(ClientError):
    """The server ended a request (or the connection) with an error.

    ``status`` and ``code`` are the ones the HTTP door answers for the same failure;
    ``retry_after`` is set for rate limits.
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        param: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.retry_after = retry_after


class GoingAway(ClientError):
    """The server is draining this connection: open a new one for new requests."""


class ConnectionClosed(ClientError):
    """The connection closed (or failed) before the request ended."""

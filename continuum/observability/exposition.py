"""``GET /metrics`` as a small ASGI app, guarded by a metrics key or by the network.

    app.mount("/metrics", MetricsEndpoint(gateway.metrics, key=settings.metrics_key))

With a ``key``, a scrape must send ``Authorization: Bearer <key>`` (Prometheus'
``authorization`` / ``bearer_token_file`` settings). Without one, only loopback clients
are answered, so a gateway bound to a public address never exposes its series by
accident; an operator who wants them elsewhere sets a key, or serves this app on a
separate, private address. Refusals use the gateway's OpenAI error object.
"""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import ip_address

from starlette.types import Receive, Scope, Send

from continuum.dialects.openai.errors import error_json
from continuum.errors import (
    AuthenticationFailed,
    ContinuumError,
    MethodNotAllowed,
    PermissionDenied,
)
from continuum.observability.metrics import Metrics


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credential = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    return None


class MetricsEndpoint:
    """An ASGI app answering ``GET``/``HEAD`` with ``metrics.expose()``."""

    def __init__(self, metrics: Metrics, *, key: str | None = None):
        self._metrics = metrics
        self._key = _digest(key) if key else None

    def check(self, scope: Scope) -> None:
        """Raise the error a scrape with this scope gets, if any."""
        if scope["method"] not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"Method not allowed: {scope['method']} /metrics.")
        if self._key is not None:
            credential = _bearer(scope)
            if credential is None or not hmac.compare_digest(_digest(credential), self._key):
                raise AuthenticationFailed("/metrics needs the metrics key as a bearer token")
            return
        client = scope.get("client")
        if not is_loopback(client[0] if client else None):
            raise PermissionDenied(
                "/metrics answers only local clients unless a metrics key is configured",
                code="metrics_forbidden",
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        try:
            self.check(scope)
        except ContinuumError as error:
            headers = [(b"content-type", b"application/json")]
            if isinstance(error, AuthenticationFailed):
                headers.append((b"www-authenticate", b"Bearer"))
            await _answer(send, error.status, headers, error_json(error))
            return
        body = self._metrics.expose()
        headers = [
            (b"content-type", self._metrics.content_type.encode()),
            (b"cache-control", b"no-store"),
        ]
        await _answer(send, 200, headers, body, head=scope["method"] == "HEAD")


async def _answer(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool = False
) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})

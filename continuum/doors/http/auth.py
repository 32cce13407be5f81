"""An HTTP request's credential, and the admin check of the operator routes."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from continuum.auth.keys import bearer
from continuum.core.context import Principal
from continuum.doors.http.services import gateway_of
from continuum.errors import PermissionDenied


def credential(connection: HTTPConnection) -> str | None:
    return bearer(connection.headers.get("authorization"))


def api_key(connection: HTTPConnection) -> str | None:
    """Anthropic's ``x-api-key`` header, else the bearer token (recent Anthropic SDKs)."""
    return connection.headers.get("x-api-key") or credential(connection)


async def authenticate(connection: HTTPConnection) -> Principal:
    return await gateway_of(connection).pipeline.authenticate(credential(connection))


async def require_admin(connection: HTTPConnection) -> Principal:
    """The admin key or a principal with ``admin: true``; anyone else gets 403."""
    principal = await authenticate(connection)
    if not principal.is_admin:
        raise PermissionDenied("This endpoint needs an admin key", code="not_admin")
    return principal

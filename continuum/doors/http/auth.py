"""Turning an HTTP request's credentials into a principal."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from continuum.auth.keys import bearer, digest
from continuum.core.context import Principal
from continuum.core.pipeline import Pipeline
from continuum.errors import PermissionDenied

ADMIN = Principal(id="admin", name="admin key", is_admin=True, key_id="admin-key")


def pipeline_of(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


async def authenticate(request: Request) -> Principal:
    return await pipeline_of(request).authenticate(bearer(request.headers.get("authorization")))


async def authenticate_operator(request: Request) -> Principal:
    """Like ``authenticate``, but the admin key (CONTINUUM_ADMIN_KEY) is accepted too."""
    admin_key = request.app.state.settings.admin_key
    credential = bearer(request.headers.get("authorization"))
    if admin_key and credential and hmac.compare_digest(digest(credential), digest(admin_key)):
        return ADMIN
    return await authenticate(request)


async def require_admin(request: Request) -> Principal:
    """The admin key or a principal with ``admin: true``; anyone else gets 403."""
    principal = await authenticate_operator(request)
    if not principal.is_admin:
        raise PermissionDenied("This endpoint needs an admin key", code="not_admin")
    return principal

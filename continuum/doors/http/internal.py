"""``X-Internal-Auth``: the key endpoints meant for other services require (seed 003).

The key is ``CONTINUUM_INTERNAL_KEY`` (seed 003's ``GATEWAY__INTERNAL_API_KEY`` is
accepted); without one configured, such endpoints refuse everyone. Callers that pass
get a principal of their own: trusted with every model, and counting limits and usage
against the end user they name (``user:<user_id>``), or against ``internal``.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from continuum.core.context import Principal
from continuum.doors.http.services import gateway_of
from continuum.errors import AuthenticationFailed, PermissionDenied

HEADER = "x-internal-auth"
INTERNAL = Principal(id="internal", name="internal")


def require_internal(connection: HTTPConnection) -> None:
    """Pass a caller presenting the internal key; raise 401 (or 403 when none is set)."""
    key = gateway_of(connection).settings.internal_key
    if key is None:
        raise PermissionDenied(
            "This endpoint serves internal services, and this server has no internal key "
            "(set CONTINUUM_INTERNAL_KEY)",
            code="internal_disabled",
        )
    given = connection.headers.get(HEADER)
    # compare_digest: the time taken does not tell how much of a guess was right.
    if given is None or not hmac.compare_digest(given.encode(), key.encode()):
        raise AuthenticationFailed(
            "This endpoint needs the internal key in the X-Internal-Auth header",
            code="invalid_internal_key",
        )


def internal_principal(user_id: str | None) -> Principal:
    """The principal of an internal call made for ``user_id`` (or for nobody in particular)."""
    if user_id is None:
        return INTERNAL
    return Principal(id=f"user:{user_id}", name=user_id)

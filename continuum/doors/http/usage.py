"""``GET /usage``: totals by model and day, from the usage ledger."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.doors.http.auth import authenticate
from continuum.doors.http.services import gateway_of
from continuum.errors import PermissionDenied

router = APIRouter(tags=["Usage"])


@router.get("/usage", summary="Usage totals by model and day (admins: ?user=<id> or ?user=*)")
async def get_usage(request: Request, user: str | None = None) -> Response:
    principal = await authenticate(request)
    wanted: str | None = principal.id if user is None else user
    if wanted != principal.id and not principal.is_admin:
        raise PermissionDenied("Only admins may read another user's usage", code="not_admin")
    if wanted == "*":
        wanted = None
    gateway = gateway_of(request)
    await gateway.ledger.flush()  # include what is still queued
    rows = await gateway.usage.totals(wanted)
    data = [
        {
            "user": row.user_id,
            "day": row.day,
            "model": row.model,
            "requests": row.requests,
            "prompt_tokens": row.prompt_tokens,
            "completion_tokens": row.completion_tokens,
            "total_tokens": row.total_tokens,
        }
        for row in rows
    ]
    totals = {
        key: sum(item[key] for item in data)  # type: ignore[misc]
        for key in ("requests", "prompt_tokens", "completion_tokens", "total_tokens")
    }
    body = {"object": "usage", "user": user or principal.id, "data": data, "totals": totals}
    return Response(orjson.dumps(body), media_type="application/json")

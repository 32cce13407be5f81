"""``GET /usage``: totals by model and day, from the usage ledger."""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from continuum.auth.names import name_problem
from continuum.doors.http.auth import authenticate
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of
from continuum.errors import InvalidRequest, PermissionDenied

router = APIRouter(tags=["Usage"])


class UsageRow(BaseModel):
    user: str
    day: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UsageTotals(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UsageReport(BaseModel):
    """Usage per user, UTC day and model, and the totals of those rows."""

    object: Literal["usage"]
    user: str | None  # None: every user's (?all=true)
    data: list[UsageRow]
    totals: UsageTotals


@router.get(
    "/usage",
    summary="Usage totals by model and day (admins: ?user=<id>, or ?all=true for every user)",
    **operation(ok=UsageReport, errors=(400, 401, 403, 503)),
)
async def get_usage(request: Request, user: str | None = None, all: bool = False) -> Response:
    principal = await authenticate(request)
    if user is not None and all:
        raise InvalidRequest("Give either 'user' or 'all', not both", param="all")
    if user is not None and user != principal.id and name_problem(user) is not None:
        # No user can have such a name (``*`` once meant everyone: that is ?all=true now).
        raise InvalidRequest(f"'{user[:64]}' is not a user name", param="user")
    wanted: str | None = principal.id if user is None else user
    if (all or wanted != principal.id) and not principal.is_admin:
        raise PermissionDenied("Only admins may read another user's usage", code="not_admin")
    if all:
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
    who = None if all else (user or principal.id)
    body = {"object": "usage", "user": who, "data": data, "totals": totals}
    return Response(orjson.dumps(body), media_type="application/json")

"""``GET /rate-limit/stats`` and ``/rate-limit/stats/{user_id}`` (seed 001): use per user."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.context import Principal
from continuum.core.limits import LimitState
from continuum.doors.http.auth import authenticate
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of
from continuum.errors import PermissionDenied

router = APIRouter(tags=["Rate limits"])


class LimitUse(BaseModel):
    """One limit of a user and how much of it is used now."""

    limit: str
    kind: Literal["requests", "tokens"]
    amount: int
    window_seconds: int
    used: int
    remaining: int
    reset_seconds: float


class AllLimits(BaseModel):
    """Each user's limits (only the caller's own unless it is an admin)."""

    users: dict[str, list[LimitUse]]


class UserLimits(BaseModel):
    user_id: str
    limits: list[LimitUse]


def _limit(state: LimitState) -> dict[str, Any]:
    return {
        "limit": str(state.limit),
        "kind": state.limit.kind,
        "amount": state.limit.amount,
        "window_seconds": state.limit.window_seconds,
        "used": state.used,
        "remaining": state.remaining,
        "reset_seconds": round(state.reset, 3),
    }


async def _user_limits(request: Request, who: str, principal: Principal) -> list[dict[str, Any]]:
    states = (await gateway_of(request).limiter.stats(who)).get(who, [])
    seen = {str(state.limit) for state in states}
    if who == principal.id:  # limits not touched yet are fully available
        states += [
            LimitState(limit, limit.amount, 0.0)
            for limit in principal.limits
            if str(limit) not in seen
        ]
    return [_limit(state) for state in states]


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


@router.get(
    "/rate-limit/stats",
    summary="Current rate-limit use (admins: of every user)",
    **operation(ok=AllLimits, errors=(401, 503)),
)
async def all_stats(request: Request) -> Response:
    principal = await authenticate(request)
    if not principal.is_admin:
        return _json(
            {"users": {principal.id: await _user_limits(request, principal.id, principal)}}
        )
    stats = await gateway_of(request).limiter.stats()
    return _json({"users": {who: [_limit(s) for s in states] for who, states in stats.items()}})


@router.get(
    "/rate-limit/stats/{user_id}",
    summary="Current rate-limit use of one user",
    **operation(ok=UserLimits, errors=(401, 403, 503)),
)
async def user_stats(request: Request, user_id: str) -> Response:
    principal = await authenticate(request)
    if user_id != principal.id and not principal.is_admin:
        raise PermissionDenied("Only admins may read another user's rate limits", code="not_admin")
    return _json({"user_id": user_id, "limits": await _user_limits(request, user_id, principal)})

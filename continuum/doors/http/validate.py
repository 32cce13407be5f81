"""``POST /validate-user`` (seed 001): ask the configured validator about a user id."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from continuum.doors.http.body import read_body
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of
from continuum.errors import InvalidRequest, MalformedJSON

router = APIRouter(tags=["Users"])


class ValidateUser(BaseModel):
    user_id: str = Field(min_length=1)


class Verdict(BaseModel):
    """Whether the configured validator accepts the user id, and its normal form if other."""

    valid: bool
    user_id: str
    normalized: str | None


@router.post(
    "/validate-user",
    summary="Validate (and maybe normalize) a user id",
    **operation(body=ValidateUser, ok=Verdict, errors=(400, 408, 413)),
)
async def validate_user(request: Request) -> Response:
    raw = await read_body(request, 16 * 1024)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MalformedJSON("The body is not valid JSON") from None
    user_id = body.get("user_id") if isinstance(body, dict) else None
    if not isinstance(user_id, str) or not user_id:
        raise InvalidRequest("'user_id' must be a non-empty string", param="user_id")
    verdict = gateway_of(request).validate_user(user_id)
    normalized = verdict if isinstance(verdict, str) and verdict != user_id else None
    answer = {"valid": bool(verdict), "user_id": user_id, "normalized": normalized}
    return Response(orjson.dumps(answer), media_type="application/json")

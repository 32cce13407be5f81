"""``/admin/keys``: create, list, read, change and revoke run-time API keys."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response

from continuum.auth.names import check_name
from continuum.auth.store import LAST_TIME, KeyStore
from continuum.core.json_body import M, parse_json
from continuum.core.limits import parse_rate_limits
from continuum.doors.http.auth import require_admin
from continuum.doors.http.body import read_body
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of
from continuum.errors import NotFound

router = APIRouter(prefix="/admin", tags=["Admin"])


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("rate_limit", mode="before", check_fields=False)
    @classmethod
    def _limits(cls, value: Any) -> Any:
        parse_rate_limits(value)
        return [value] if isinstance(value, str) else value

    @field_validator("name", "owner", check_fields=False)
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value)

    @field_validator("permissions", mode="before", check_fields=False)
    @classmethod
    def _permissions(cls, value: Any) -> Any:
        return None if value == "*" else value


# Expiry up to the year 9999 (LAST_TIME): ttl_seconds=1e308 made every later listing of
# the keys fail, its whole seconds beyond what JSON encoders take.
LONGEST_TTL = 100 * 366 * 86400.0


class KeyCreate(_Limits):
    name: str = Field(min_length=1, max_length=256)
    owner: str | None = Field(default=None, min_length=1, max_length=256)
    permissions: list[str] | None = None
    rate_limit: list[str] = Field(default_factory=list)
    expires_at: float | None = Field(default=None, ge=0, le=LAST_TIME, allow_inf_nan=False)
    ttl_seconds: float | None = Field(default=None, gt=0, le=LONGEST_TTL, allow_inf_nan=False)
    admin: bool = False


class KeyUpdate(_Limits):
    """Fields left out are kept; ``permissions: null`` is every model, ``expires_at:
    null`` no expiry; a name and limits are never null (the key keeps them)."""

    name: str | None = Field(default=None, min_length=1, max_length=256)
    permissions: list[str] | None = None
    rate_limit: list[str] | None = None
    expires_at: float | None = Field(default=None, ge=0, le=LAST_TIME, allow_inf_nan=False)

    @field_validator("name", "rate_limit", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Stored as NULL it broke the key (a 503 from the database, found by fuzzing).
        if value is None:
            raise ValueError("may not be null (leave it out to keep the key's)")
        return value


class KeyObject(BaseModel):
    """A run-time key as the admin API shows it (never the key itself)."""

    id: str
    object: Literal["api_key"]
    name: str
    owner: str
    permissions: list[str] | None
    rate_limit: list[str]
    admin: bool
    created: int
    expires_at: int | None
    revoked_at: int | None


class NewKey(KeyObject):
    """A key just made: the only answer that carries the key."""

    key: str


class KeyList(BaseModel):
    object: Literal["list"]
    data: list[KeyObject]


_ERRORS = (401, 403, 404, 503)
_BODY_ERRORS = (400, 401, 403, 404, 408, 413, 503)


def _keys(request: Request) -> KeyStore:
    return gateway_of(request).keys


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


async def _body(request: Request, model: type[M]) -> M:
    return parse_json(await read_body(request, 64 * 1024), model)


@router.post(
    "/keys",
    summary="Create a key (shown once)",
    **operation(body=KeyCreate, ok=NewKey, ok_status=201, errors=_BODY_ERRORS),
)
async def create_key(request: Request) -> Response:
    await require_admin(request)
    body: KeyCreate = await _body(request, KeyCreate)
    now = gateway_of(request).clock.time()
    expires = body.expires_at or (now + body.ttl_seconds if body.ttl_seconds else None)
    key, info = await _keys(request).create(
        name=body.name,
        owner=body.owner or body.name,
        permissions=body.permissions,
        rate_limit=body.rate_limit,
        expires=expires,
        admin=body.admin,
    )
    return _json({**info.public(), "key": key}, status=201)


@router.get("/keys", summary="List keys", **operation(ok=KeyList, errors=(401, 403, 503)))
async def list_keys(request: Request) -> Response:
    await require_admin(request)
    return _json(
        {"object": "list", "data": [info.public() for info in await _keys(request).list()]}
    )


@router.get("/keys/{key_id}", summary="Read a key", **operation(ok=KeyObject, errors=_ERRORS))
async def get_key(request: Request, key_id: str) -> Response:
    await require_admin(request)
    info = await _keys(request).get(key_id)
    if info is None:
        raise NotFound(f"No key '{key_id}'", param="key_id")
    return _json(info.public())


@router.patch(
    "/keys/{key_id}",
    summary="Change a key's name, models, limits or expiry",
    **operation(body=KeyUpdate, ok=KeyObject, errors=_BODY_ERRORS),
)
async def update_key(request: Request, key_id: str) -> Response:
    await require_admin(request)
    body: KeyUpdate = await _body(request, KeyUpdate)
    changes = body.model_dump(exclude_unset=True)
    if "expires_at" in changes:
        changes["expires"] = changes.pop("expires_at")
    info = await _keys(request).update(key_id, **changes)
    if info is None:
        raise NotFound(f"No key '{key_id}'", param="key_id")
    return _json(info.public())


@router.delete("/keys/{key_id}", summary="Revoke a key", **operation(ok=KeyObject, errors=_ERRORS))
async def revoke_key(request: Request, key_id: str) -> Response:
    await require_admin(request)
    info = await _keys(request).revoke(key_id)
    if info is None:
        raise NotFound(f"No key '{key_id}'", param="key_id")
    return _json(info.public())

"""Run-time API keys in SQL, stored as SHA-256 digests: the key itself is shown once."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from continuum.auth.keys import digest
from continuum.auth.names import name_problem
from continuum.core.context import Principal
from continuum.core.limits import parse_rate_limits
from continuum.errors import InvalidRequest
from continuum.store.database import Database, state_errors
from continuum.store.tables import api_keys


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A stored key as the admin API shows it (never the key itself)."""

    id: str
    name: str
    owner: str
    permissions: list[str] | None
    rate_limit: list[str]
    admin: bool
    created: float
    expires: float | None
    revoked: float | None

    def active(self, now: float) -> bool:
        return self.revoked is None and (self.expires is None or self.expires > now)

    def principal(self) -> Principal:
        return Principal(
            id=self.owner,
            name=self.name,
            permissions=None if self.permissions is None else frozenset(self.permissions),
            limits=parse_rate_limits(self.rate_limit),
            key_id=self.id,
            is_admin=self.admin,
        )

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "api_key",
            "name": self.name,
            "owner": self.owner,
            "permissions": self.permissions,
            "rate_limit": self.rate_limit,
            "admin": self.admin,
            "created": int(self.created),
            "expires_at": None if self.expires is None else int(self.expires),
            "revoked_at": None if self.revoked is None else int(self.revoked),
        }


def _check_names(**names: str | None) -> None:
    """The admin API validates first; this guards every other way in (the CLI, code)."""
    for field, name in names.items():
        problem = None if name is None else name_problem(name)
        if problem is not None:
            raise InvalidRequest(f"The key's {field} {problem}", param=field)


# Year 9999: whole seconds fit in 64 bits, so every listing of the keys can encode them.
LAST_TIME = 253_402_300_799.0


def _check_time(expires: float | None) -> None:
    if expires is not None and not 0 <= expires <= LAST_TIME:  # NaN fails both comparisons
        raise InvalidRequest(
            "The key's expiry must be a time before the year 10000", param="expires_at"
        )


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        owner=row.owner,
        permissions=None if row.permissions is None else orjson.loads(row.permissions),
        rate_limit=orjson.loads(row.rate_limit),
        admin=bool(row.admin),
        created=row.created,
        expires=row.expires,
        revoked=row.revoked,
    )


class KeyStore:
    """Run-time keys in the SQL database; a database that cannot answer is ``StateUnavailable``."""

    def __init__(self, database: Database):
        self._db = database

    async def create(
        self,
        *,
        name: str,
        owner: str,
        permissions: list[str] | None = None,
        rate_limit: list[str] | None = None,
        expires: float | None = None,
        admin: bool = False,
    ) -> tuple[str, KeyInfo]:
        """A new key and its record. The key is returned here and never again."""
        parse_rate_limits(rate_limit or [])  # refuse a bad limit before storing it
        _check_names(name=name, owner=owner)
        _check_time(expires)
        key = "ck-" + secrets.token_urlsafe(32)
        key_id = "key_" + secrets.token_hex(12)
        row = {
            "id": key_id,
            "digest": digest(key).hex(),
            "name": name,
            "owner": owner,
            "permissions": None if permissions is None else orjson.dumps(permissions).decode(),
            "rate_limit": orjson.dumps(rate_limit or []).decode(),
            "admin": int(admin),
            "created": time.time(),
            "expires": expires,
            "revoked": None,
        }
        with state_errors("the key store"):
            async with self._db.engine.begin() as conn:
                await conn.execute(insert(api_keys).values(**row))
        info = await self.get(key_id)
        assert info is not None
        return key, info

    async def get(self, key_id: str) -> KeyInfo | None:
        with state_errors("the key store"):
            async with self._db.engine.connect() as conn:
                row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        return None if row is None else _info(row)

    async def find(self, key: str) -> KeyInfo | None:
        return await self.find_digest(digest(key).hex())

    async def find_digest(self, wanted: str) -> KeyInfo | None:
        with state_errors("the key store"):
            async with self._db.engine.connect() as conn:
                query = select(api_keys).where(api_keys.c.digest == wanted)
                row = (await conn.execute(query)).first()
        return None if row is None else _info(row)

    async def list(self) -> list[KeyInfo]:
        with state_errors("the key store"):
            async with self._db.engine.connect() as conn:
                rows = (await conn.execute(select(api_keys).order_by(api_keys.c.created))).all()
        return [_info(row) for row in rows]

    async def update(self, key_id: str, **changes: Any) -> KeyInfo | None:
        """Change ``name``, ``permissions``, ``rate_limit``, ``expires`` or ``revoked``."""
        values = dict(changes)
        _check_names(name=values.get("name"))
        _check_time(values.get("expires"))
        if "rate_limit" in values:
            parse_rate_limits(values["rate_limit"])
            values["rate_limit"] = orjson.dumps(values["rate_limit"]).decode()
        if "permissions" in values and values["permissions"] is not None:
            values["permissions"] = orjson.dumps(values["permissions"]).decode()
        if values:
            with state_errors("the key store"):
                async with self._db.engine.begin() as conn:
                    query = update(api_keys).where(api_keys.c.id == key_id).values(**values)
                    await conn.execute(query)
        return await self.get(key_id)

    async def revoke(self, key_id: str) -> KeyInfo | None:
        return await self.update(key_id, revoked=time.time())

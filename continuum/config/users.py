"""``users.yml`` (seed 000 format): token, name, permissions (model ids or ``"*"``), rate_limit."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from continuum.auth.names import check_name
from continuum.config.files import load_yaml
from continuum.core.context import Principal
from continuum.core.limits import RateLimit, parse_rate_limits

FIX = "see docs/configuration.md#usersyml; each user needs token, name and permissions"
MIN_TOKEN_LENGTH = 16


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=MIN_TOKEN_LENGTH)
    name: str = Field(min_length=1)
    permissions: list[str] | str = Field(default_factory=list)
    rate_limit: tuple[RateLimit, ...] = ()
    admin: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _limits(cls, value: Any) -> tuple[RateLimit, ...]:
        return parse_rate_limits(value)

    @field_validator("permissions")
    @classmethod
    def _permissions(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, str) and value != "*":
            raise ValueError('must be a list of model ids or "*"')
        return value

    def principal(self) -> Principal:
        everything = self.permissions == "*" or "*" in self.permissions
        return Principal(
            id=self.name,
            name=self.name,
            permissions=None if everything else frozenset(self.permissions),
            limits=self.rate_limit,
            key_id=f"users.yml:{hashlib.sha256(self.token.encode()).hexdigest()[:12]}",
            is_admin=self.admin,
        )


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[UserEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> UsersFile:
        seen: set[str] = set()
        for index, user in enumerate(self.users):
            if user.token in seen:
                raise ValueError(f"users[{index}] repeats the token of an earlier user")
            seen.add(user.token)
        return self


def load_users(path: Path) -> list[UserEntry]:
    return load_yaml(path, UsersFile, FIX).users

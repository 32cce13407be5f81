"""Who is asking, and what the pipeline learns about one request while serving it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from continuum.core.limits import LimitState, RateLimit


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller. ``permissions`` of ``None`` means every model (``"*"``)."""

    id: str
    name: str
    permissions: frozenset[str] | None = None
    limits: tuple[RateLimit, ...] = ()
    key_id: str | None = None
    is_admin: bool = False
    anonymous: bool = False  # a door that admits callers without a key (seed 001)

    def may_use(self, model: str) -> bool:
        return self.permissions is None or model in self.permissions


@dataclass(slots=True)
class RequestContext:
    """One request as the pipeline sees it, whichever door it came through.

    A door makes it with ``Pipeline.open``. ``door`` names the door in the usage ledger;
    ``user_id`` is the end user a door without keys names in its body (seed 001);
    ``limits`` is filled in when the request is admitted, as data each door renders its
    own way (headers, error fields).
    """

    request_id: str
    principal: Principal
    door: str = "http"
    client: str | None = None
    user_id: str | None = None
    started: float = field(default_factory=time.perf_counter)
    limits: tuple[LimitState, ...] = ()

    @property
    def subject(self) -> str:
        """Whom limits and usage count against: the authenticated principal; for a door
        that admits anonymous callers, the body's ``user_id``, then the client address."""
        if not self.principal.anonymous:
            return self.principal.id
        if self.user_id:
            return f"user:{self.user_id}"
        return f"ip:{self.client or 'unknown'}"

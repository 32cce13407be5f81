"""Seed 002's stream sessions as a service: who may start one, the session, its access.

    streams = StreamSessions(settings.sessions, pipeline, store, generations, callers)
    started = await streams.init(body, client=address)       # /init-stream
    info = await streams.attach(stream_id, access_token)     # /stream/{id}, every connect

**Who the caller is.** An ``n8nToken`` is signed with the operator's JWT secret (or
key), so whoever holds one acts for the operator's workflow engine:

* a ``sub`` claim naming a ``users.yml`` user makes that user the caller: its models,
  its rate limits, its line in the usage ledger (as if it had sent its key);
* otherwise the caller is the *stream service* principal: every model, no rate limits
  of its own, and usage recorded against the end user the body names
  (``user:<userId>``, the identity the prompt API gives anonymous callers), or against
  ``streams`` without a ``userId``; the ledger's key column says ``jwt:<sub>``.

The model is authorized at ``/init-stream`` (a model the caller may not use is a 404
there), and the generation runs through ``Pipeline.chat`` as that caller, so limits are
taken and usage is recorded like any other request (door ``stream``). The generation
starts when a client first attaches (or at init with ``start_at_init``), on whichever
replica that is; the caller is rebuilt there from the session's ``owner``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from continuum.auth.jwt import InitTokenVerifier, StreamTokens
from continuum.core.context import Principal, RequestContext
from continuum.core.events import Event
from continuum.core.pipeline import Pipeline
from continuum.core.types import ChatRequest, Message, SamplingParams
from continuum.dialects.streams.request import InitStreamRequest
from continuum.errors import AuthenticationFailed, ConfigError, InvalidRequest, NotConfigured
from continuum.net.ssrf import Resolve, check_url, system_resolve
from continuum.sessions.base import SessionStore
from continuum.sessions.generation import Generations
from continuum.sessions.model import SessionInfo, SessionSpec
from continuum.settings import SessionSettings

log = logging.getLogger("continuum.sessions")

SERVICE = "streams"  # the principal of init tokens that name no users.yml user
SERVICE_OWNER = "jwt:"  # a session's owner for that principal: "jwt:<sub>"
DOOR = "stream"  # the usage ledger's door for session generations


@dataclass(frozen=True, slots=True)
class Started:
    """A session made by ``init``, and the access token of its ``streamUrl``."""

    info: SessionInfo
    access_token: str


def service_principal(sub: str, user_id: str | None) -> Principal:
    """The caller of an init token that names no ``users.yml`` user (see the module)."""
    return Principal(
        id=SERVICE,
        name="Stream sessions (init tokens)",
        key_id=f"jwt:{sub}" if sub else "jwt",
        # ``anonymous`` makes ``RequestContext.subject`` the end user the body names.
        anonymous=user_id is not None,
    )


class StreamSessions:
    """``/init-stream`` and ``/stream/{id}``'s logic, door-neutral (one per gateway)."""

    def __init__(
        self,
        settings: SessionSettings,
        pipeline: Pipeline,
        store: SessionStore,
        generations: Generations,
        callers: Mapping[str, Principal] | None = None,
        *,
        default_model: Callable[[], str | None] = lambda: None,
        callbacks: bool = False,
        resolve: Resolve = system_resolve,
    ):
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.generations = generations
        self._callers = dict(callers or {})
        self._default_model = default_model
        self._callbacks = callbacks  # a webhook secret is configured: callbacks are sent
        self._resolve = resolve
        self.verifier: InitTokenVerifier | None = None
        self._missing: str | None = None
        try:
            self.verifier = InitTokenVerifier(
                secret=settings.jwt_secret, public_key=settings.jwt_public_key
            )
        except ConfigError:
            self._missing = "set CONTINUUM_JWT_SECRET (or JWT_SECRET) or CONTINUUM_JWT_PUBLIC_KEY"
        # Verifying init tokens by public key only, access tokens still need a shared
        # key: a random one works within this process (replicas need the secret).
        access_key = settings.jwt_secret or secrets.token_hex(32)
        self.tokens = StreamTokens(access_key, ttl=settings.access_token_ttl)

    # -- /init-stream ----------------------------------------------------------------

    def caller(self, claims: Mapping[str, Any], user_id: str | None) -> tuple[Principal, str]:
        """The principal an init token acts as, and the owner recorded in the session."""
        sub = claims.get("sub")
        sub = sub if isinstance(sub, str) else ""
        user = self._callers.get(sub) if sub else None
        if user is not None:
            return user, user.id
        return service_principal(sub, user_id), SERVICE_OWNER + sub

    async def init(self, body: InitStreamRequest, *, client: str | None = None) -> Started:
        """Check the token, the model and the ``resumeUrl``; make the session; start its
        generation now when so configured."""
        if self.verifier is None:
            raise NotConfigured(f"Stream sessions are not configured: {self._missing}.")
        claims = self.verifier.verify(body.n8nToken)
        principal, owner = self.caller(claims, body.userId)
        model = body.model or self.settings.model or self._default_model()
        if not model:
            raise InvalidRequest("model is required: no default model is configured", param="model")
        self.pipeline.authorize(principal, model)  # 404 for a model it may not use
        if body.resumeUrl is not None:
            if not self._callbacks:
                raise NotConfigured(
                    "Completion callbacks are not configured: set CONTINUUM_WEBHOOK_SECRET "
                    "(or WEBHOOK_SECRET) to a whsec_ secret, or leave resumeUrl out."
                )
            await check_url(
                body.resumeUrl,
                allow_private=self.settings.callback_allow_private,
                resolve=self._resolve,
            )
        spec = SessionSpec(
            owner=owner,
            prompt=body.prompt,
            model=model,
            max_tokens=body.max_tokens or self.settings.max_tokens,
            user_id=body.userId,
            chat_id=body.chatId,
            resume_url=body.resumeUrl,
        )
        info = await self.store.create(spec)
        log.info("stream %s: made for %s (model %s)", info.id, principal.id, model)
        if self.settings.start_at_init:
            await self.start(info)
        return Started(info, self.tokens.mint(info.id))

    # -- /stream/{id} ----------------------------------------------------------------

    async def attach(self, stream_id: str, access_token: str | None) -> SessionInfo | None:
        """Check the access token (on every connect), then the session: ``None`` when it
        is unknown or expired. A pending session's generation starts here."""
        self.tokens.verify(access_token, stream_id)
        info = await self.store.get(stream_id)
        if info is None or info.state == "expired":  # nobody attached within the TTL
            return None
        if info.state == "pending":
            await self.start(info)
        return info

    async def start(self, info: SessionInfo) -> bool:
        """Begin the session's generation on this replica unless someone already has."""
        spec = info.spec
        return await self.generations.begin(info.id, lambda: self._events(spec))

    async def _events(self, spec: SessionSpec) -> AsyncIterator[Event]:
        principal = self._owner(spec)
        ctx = RequestContext(
            self.pipeline.new_id("strm-"), principal, door=DOOR, user_id=spec.user_id
        )
        request = ChatRequest(
            model=spec.model,
            messages=(Message("user", spec.prompt),),
            params=SamplingParams(max_tokens=spec.max_tokens),
            user=spec.user_id,
            request_id=ctx.request_id,
        )
        events = self.pipeline.chat(ctx, request)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()

    def _owner(self, spec: SessionSpec) -> Principal:
        user = self._callers.get(spec.owner)
        if user is not None:
            return user
        if spec.owner.startswith(SERVICE_OWNER):
            return service_principal(spec.owner[len(SERVICE_OWNER) :], spec.user_id)
        # users.yml changed between /init-stream and the first attach.
        raise AuthenticationFailed(f"the stream's caller {spec.owner!r} is no longer a user")

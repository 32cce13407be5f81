"""Outboxes on every backend (Redis, SQLite, PostgreSQL), each able to make a second
instance on the same state (another replica), and a real webhook receiver."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from continuum.sessions.callbacks.model import CallbackPayload, Delivery, Outbox, delivery_id
from continuum.store.database import Database, database_url

SECRET = "whsec_" + base64.b64encode(b"continuum-test-webhook-secret-32b").decode()


@dataclass
class Outboxes:
    """Makes outbox instances of one backend over one shared state."""

    kind: str
    target: str  # Redis URL, SQLite URL or PostgreSQL URL
    name: str  # Redis prefix or PostgreSQL schema ('' for SQLite)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def make(self) -> Outbox:
        if self.kind == "redis":
            from continuum.sessions.callbacks.redis import RedisOutbox

            client = Redis.from_url(self.target)
            self.closers.append(client.aclose)
            return RedisOutbox(client, prefix=self.name)
        from continuum.sessions.callbacks.sql import SqlOutbox

        database = Database(self.target, schema=self.name or None)
        self.closers.append(database.close)
        await database.migrate()
        return SqlOutbox(database)

    def worker_args(self) -> list[str]:
        """How a worker in another process finds the same outbox."""
        return [self.kind, self.target, self.name]


@pytest.fixture(params=["redis", "sqlite", "postgres"])
async def outboxes(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outboxes]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        made = Outboxes("redis", url, f"test:{uuid.uuid4().hex[:12]}:cb:")
    elif request.param == "sqlite":
        made = Outboxes("sqlite", database_url(None, tmp_path), "")
    else:
        from tests.services import postgres_url

        url = postgres_url()
        made = Outboxes("postgres", database_url(url, tmp_path), f"t_{uuid.uuid4().hex[:12]}")
    yield made
    for close in made.closers:
        await close()
    if made.kind == "redis":
        client = Redis.from_url(made.target)
        keys = [k async for k in client.scan_iter(match=f"{made.name}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    elif made.kind == "postgres":
        import asyncpg

        from tests.services import postgres_url

        conn = await asyncpg.connect(postgres_url())
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{made.name}" CASCADE')
        finally:
            await conn.close()


def make_delivery(url: str, session_id: str | None = None, **payload: Any) -> Delivery:
    session_id = session_id or str(uuid.uuid4())
    fields: dict[str, Any] = {
        "user_id": "user123",
        "chat_id": "chat123",
        "prompt": "Original prompt",
        "answer": "Complete AI response — ✓\nline two",
        "input_tokens": 123,
        "output_tokens": 456,
    } | payload
    return Delivery(
        delivery_id(session_id), session_id, url, CallbackPayload(**fields), time.time()
    )


@dataclass
class Received:
    id: str
    timestamp: str
    signature: str
    body: bytes
    payload: Any  # what Webhook.verify returned, or None if it did not verify
    at: float


Behaviour = Callable[[int, web.Request], Awaitable[web.StreamResponse]]


async def ok(_n: int, _request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


class Receiver:
    """A webhook receiver on a real socket; it verifies every request with the
    ``standardwebhooks`` library and answers as ``behaviour`` says."""

    def __init__(self, secret: str = SECRET, behaviour: Behaviour = ok):
        self.secret = secret
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.in_flight: dict[str, int] = {}
        self.overlaps: list[str] = []  # ids received while an attempt of theirs was open
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = dict(request.headers)
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            payload = None
        message_id = request.headers.get("webhook-id", "")
        self.received.append(
            Received(
                message_id,
                request.headers.get("webhook-timestamp", ""),
                request.headers.get("webhook-signature", ""),
                body,
                payload,
                time.monotonic(),
            )
        )
        if self.in_flight.get(message_id):
            self.overlaps.append(message_id)
        self.in_flight[message_id] = self.in_flight.get(message_id, 0) + 1
        self.arrived.set()
        try:
            return await self.behaviour(len(self.received), request)
        finally:
            self.in_flight[message_id] -= 1

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def ids(self) -> list[str]:
        return [r.id for r in self.received]

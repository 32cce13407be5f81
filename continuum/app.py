"""The composition root: the only module that names concrete backends.

``create_app`` validates all configuration before anything binds a port, so a bad
file fails the start instead of half-configuring the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Route

from continuum import __version__
from continuum.auth.store import KeyStore
from continuum.auth.validator import load_validator
from continuum.config.reload import Reloader
from continuum.config.served import CONFIG_FILES, assemble, key_chain, read_config
from continuum.core.clock import Clock, SystemClock
from continuum.core.context import Principal
from continuum.core.ids import RequestIds
from continuum.core.pipeline import Pipeline
from continuum.core.ports import Limiter
from continuum.doors.http import (
    admin,
    agent_runtime,
    anthropic,
    callbacks_admin,
    completions,
    console,
    errors,
    health,
    openapi,
    responses,
    streams,
    usage,
    validate,
)
from continuum.doors.http import limits as limit_routes
from continuum.doors.http import simple as simple_routes
from continuum.doors.http.fastpath import HttpApp
from continuum.doors.http.openai import embeddings as embeddings_routes
from continuum.doors.http.openai import files as files_routes
from continuum.doors.http.openai import routes as openai_routes
from continuum.doors.ws import chat as ws_chat
from continuum.doors.ws import sessions as ws_sessions
from continuum.doors.ws import simple as ws_simple
from continuum.files import DatabaseFileStore, DirectoryFileStore, FileStore
from continuum.gateway import Gateway
from continuum.limits.memory import MemoryLimiter
from continuum.observability.access import AccessLog
from continuum.observability.exposition import MetricsEndpoint
from continuum.observability.metrics import Metrics
from continuum.observability.observer import GatewayObserver
from continuum.observability.redaction import Redactor
from continuum.providers import registry
from continuum.providers.base import Provider
from continuum.responses.store import ResponseStore
from continuum.routing.health import Health
from continuum.routing.router import RetryPolicy, Router
from continuum.sessions import MemorySessionStore, SessionStore, Timings
from continuum.sessions.callbacks.model import Outbox
from continuum.sessions.callbacks.sender import Sender
from continuum.sessions.callbacks.signing import Signer
from continuum.sessions.callbacks.sql import SqlOutbox
from continuum.sessions.callbacks.worker import DeliveryWorker
from continuum.sessions.callbacks.worker import RetryPolicy as CallbackRetries
from continuum.settings import Settings
from continuum.store.database import Database, database_url
from continuum.usage.journal import Journal
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore

if TYPE_CHECKING:
    from redis.asyncio import Redis


def open_database(settings: Settings) -> Database:
    return Database(
        database_url(settings.database_url, settings.data_dir), schema=settings.database_schema
    )


def _file_store(settings: Settings, database: Database) -> FileStore:
    """Uploaded files: a directory beside SQLite (one machine); chunk rows in PostgreSQL,
    which every replica shares (docs/decisions.md, "Files")."""
    if database.is_sqlite:
        return DirectoryFileStore(database, settings.data_dir / "files")
    return DatabaseFileStore(database)


def _limiter(settings: Settings, clock: Clock) -> Limiter:
    """Redis when configured (exact across replicas and workers), else this process's memory."""
    if settings.redis_url:
        # Imported only when used: redis-py costs idle memory a single process never needs.
        from continuum.limits.redis import RedisLimiter

        return RedisLimiter(_redis(settings), prefix=f"{settings.redis_prefix}rl:")
    return MemoryLimiter(clock=clock.monotonic)


def _redis(settings: Settings) -> Redis:
    """A Redis client whose pool waits for a free connection when all are in use.

    redis-py's own pool raises ``MaxConnectionsError`` past 100 connections in use: 1,000
    chat sessions starting turns at once failed 90% of them (bench/session_memory.py).
    Waiting is bounded by the pool's timeout, then it is the same failure."""
    from redis.asyncio import BlockingConnectionPool, Redis

    assert settings.redis_url is not None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=settings.redis_max_connections, timeout=10
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes them


def _sessions(
    settings: Settings, database: Database, clock: Clock
) -> tuple[SessionStore, DeliveryWorker | None]:
    """Durable stream sessions and their callback outbox: in Redis when configured (every
    replica reads every session), else in this process with the outbox in the database.
    The delivery worker runs only when callbacks can be signed (a webhook secret)."""
    s = settings.sessions
    timings = Timings(pending_ttl=s.pending_ttl, retention=s.retention)
    outbox: Outbox
    store: SessionStore
    if settings.redis_url:
        from continuum.sessions.callbacks.redis import RedisOutbox
        from continuum.sessions.redis import RedisSessionStore

        client = _redis(settings)
        prefix = settings.redis_prefix
        outbox = RedisOutbox(client, prefix=f"{prefix}cb:")
        store = RedisSessionStore(
            client, timings, prefix=f"{prefix}s:", outbox=outbox, owns_client=True
        )
    else:
        outbox = SqlOutbox(database)
        store = MemorySessionStore(timings, clock=clock.time, outbox=outbox)
    if not s.webhook_secret:
        return store, None
    sender = Sender(
        Signer(s.webhook_secret), timeout=s.callback_timeout, allow_private=s.callback_allow_private
    )
    policy = CallbackRetries(delays=s.callback_retry_delays) if s.callback_retry_delays else None
    return store, DeliveryWorker(outbox, sender, policy=policy)


def _rebuild(gateway: Gateway, keys: KeyStore, limiter: Limiter, clock: Clock) -> Callable[[], str]:
    """What a reload runs: the config directory read and built beside the running gateway,
    then swapped in whole (``ConfigError`` before anything changed on a bad file)."""
    settings = gateway.settings

    def rebuild() -> str:
        files = read_config(settings, gateway.providers, clock)
        table = files.table()
        served = assemble(
            files,
            settings,
            table=table,
            authenticator=key_chain(files, keys, clock),
            pipeline=gateway.pipeline,
            limiter=limiter,
        )
        # Last, once everything validated: new provider types the routes now use.
        added = registry.build(files.providers() - gateway.providers.keys(), settings)
        gateway.reconfigure(served, added)
        return (
            f"{len(files.routes)} models, {len(files.users)} static keys, "
            f"{len(files.agents)} agents"
        )

    return rebuild


def _secrets(settings: Settings, entries: Iterable[tuple[str, Principal]]) -> list[str]:
    """Every credential the gateway knows, for the logs to remove wherever it appears:
    the keys of users.yml, the admin and internal keys, and provider keys in the
    environment (``*_KEY``, ``*_TOKEN``, ``*_SECRET``)."""
    found = [token for token, _ in entries]
    found += [k for k in (settings.admin_key, settings.internal_key, settings.metrics_key) if k]
    found += [
        value
        for name, value in settings.environ.items()
        if name.upper().endswith(("_KEY", "_TOKEN", "_SECRET")) and value
    ]
    return found


def build_gateway(
    settings: Settings,
    clock: Clock | None = None,
    providers: Mapping[str, Provider] | None = None,
) -> Gateway:
    """Validate all configuration and build every service; nothing is started yet.

    ``clock`` drives cooldowns, the key cache, key expiry and in-memory limits (tests
    pass a ``continuum.testing.clock.ManualClock``). ``providers`` adds provider
    instances by name for ``models.yml`` to use (tests pass a ``ScriptedProvider``).
    """
    clock = clock or SystemClock()
    extra = dict(providers or {})
    files = read_config(settings, extra, clock)
    table = files.table()
    serving = {**registry.build(files.providers() - extra.keys(), settings), **extra}
    limiter = _limiter(settings, clock)
    validator = load_validator(settings.user_validator)
    database = open_database(settings)
    keys = KeyStore(database)
    usage_store = UsageStore(database)
    journal = Journal(settings.data_dir / "journal") if settings.usage_journal else None
    ledger = BatchingLedger(
        usage_store, journal=journal, dead_letter=settings.data_dir / "usage-rejected.jsonl"
    )
    redactor = Redactor(_secrets(settings, files.users), log_prompts=settings.log_prompts)
    metrics = Metrics(multiprocess_dir=settings.metrics_dir)
    observer = GatewayObserver(metrics, AccessLog(redactor, enabled=settings.access_log))
    authenticator = key_chain(files, keys, clock)
    pipeline = Pipeline(
        authenticator=authenticator,
        table=table,
        router=Router(
            serving,
            retry=RetryPolicy(retries=settings.retries),
            health=Health(
                settings.cooldown_failures, settings.cooldown_seconds, clock=clock.monotonic
            ),
            observer=observer,
        ),
        limiter=limiter,
        ledger=ledger,
        ids=RequestIds(),
        observer=observer,
    )
    served = assemble(
        files,
        settings,
        table=table,
        authenticator=authenticator,
        pipeline=pipeline,
        limiter=limiter,
    )
    sessions, callbacks = _sessions(settings, database, clock)
    gateway = Gateway(
        settings,
        pipeline,
        serving,
        files.sample_key,
        limiter,
        database,
        ledger,
        usage_store,
        keys,
        validator,
        files=_file_store(settings, database),
        agents=served.agents,
        responses=ResponseStore(database),
        simple=served.simple,
        clock=clock,
        metrics=metrics,
        redactor=redactor,
        sessions=sessions,
        callbacks=callbacks,
        stream_callers=files.callers(),
    )
    watched = settings.config_dir
    gateway.reloader = Reloader(
        _rebuild(gateway, keys, limiter, clock),
        tuple(watched / name for name in CONFIG_FILES) if watched is not None else (),
        settings.config_watch_interval,
    )
    return gateway


def create_app(
    settings: Settings | None = None,
    gateway: Gateway | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The HTTP app of a gateway. Its lifespan enters the gateway, which is a no-op when
    the process owner (the CLI) already runs it for every listener."""
    gateway = gateway or build_gateway(settings or Settings.from_env(), clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with gateway:
            yield

    app = HttpApp(
        title="Continuum",
        version=__version__,
        description="The universal AI gateway: OpenAI-compatible HTTP over many providers.",
        lifespan=lifespan,
        docs_url=None,  # served from package files by openapi.install, not from a CDN
        redoc_url=None,
    )
    app.state.gateway = gateway
    errors.install(app)
    app.error_shapes.add(anthropic.PREFIX, anthropic.anthropic_error)
    app.include_router(health.router)
    app.include_router(openai_routes.router)
    app.include_router(anthropic.router)
    app.include_router(embeddings_routes.router)
    app.include_router(files_routes.router)
    app.include_router(responses.router)
    app.include_router(completions.router)
    app.include_router(limit_routes.router)
    app.include_router(usage.router)
    app.include_router(admin.router)
    app.include_router(callbacks_admin.router)
    app.include_router(validate.router)
    app.include_router(console.router)
    # Before the prompt API: /agent/message/stream is not an agent named "message".
    app.include_router(agent_runtime.router)
    app.include_router(simple_routes.router)
    app.include_router(ws_chat.router)
    app.include_router(ws_simple.router)
    app.include_router(ws_sessions.router)
    app.include_router(streams.router)
    # Prometheus' text format, not part of the API: left out of /openapi.json on purpose
    # (docs/operations.md). The endpoint checks its own key or the client's address.
    metrics = MetricsEndpoint(gateway.metrics, key=gateway.settings.metrics_key)
    app.router.routes.append(Route("/metrics", metrics, methods=["GET", "HEAD"]))
    for prefix in simple_routes.PATHS:
        app.error_shapes.add(prefix, simple_routes.render_error)
    app.error_shapes.add(agent_runtime.PATH, agent_runtime.render_error)  # longest prefix wins
    origins = gateway.settings.cors_origins or (("*",) if gateway.settings.dev_mode else ())
    if origins:
        # Browser pages (seed 002's EventSource and /init-stream, the console) on other
        # origins; dev mode lets any origin in.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    else:
        # CORS needs every request to pass its middleware; without it the hot route skips
        # FastAPI's layers (doors/http/fastpath.py).
        app.fast_route("POST", "/v1/chat/completions", openai_routes.chat_completions)
        app.fast_route("POST", anthropic.PREFIX, anthropic.messages)
        app.fast_route("POST", "/v1/embeddings", embeddings_routes.create_embeddings)
        app.fast_route("POST", "/v1/responses", responses.create_response)
    openapi.install(app)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used for ``--workers`` > 1)."""
    return create_app(Settings.from_env())

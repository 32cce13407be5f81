"""The composition root: the only module that names concrete backends.

``create_app`` validates all configuration before anything binds a port, so a bad
file fails the start instead of half-configuring the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Route

from continuum import __version__
from continuum.agents import Agent, AgentService, load_agents
from continuum.auth import sample
from continuum.auth.admin import ADMIN
from continuum.auth.chain import KeyChain
from continuum.auth.keys import StaticKeys
from continuum.auth.store import KeyStore
from continuum.auth.validator import load_validator
from continuum.config.models import default_routes, load_default_model, load_models
from continuum.config.users import load_users
from continuum.core.clock import Clock, SystemClock
from continuum.core.context import Principal
from continuum.core.ids import RequestIds
from continuum.core.pipeline import Pipeline
from continuum.core.ports import Limiter
from continuum.core.routes import ModelRoute
from continuum.dialects.simple.service import SimpleApi
from continuum.doors.http import (
    admin,
    agent_runtime,
    anthropic,
    completions,
    console,
    errors,
    health,
    openapi,
    responses,
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
from continuum.doors.ws import simple as ws_simple
from continuum.errors import ConfigError, ModelNotFound
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
from continuum.routing.table import RoutingTable
from continuum.settings import Settings
from continuum.store.database import Database, database_url
from continuum.usage.journal import Journal
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore


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
        from redis.asyncio import Redis

        from continuum.limits.redis import RedisLimiter

        return RedisLimiter(Redis.from_url(settings.redis_url))
    return MemoryLimiter(clock=clock.monotonic)


def _routes(settings: Settings, extra: Iterable[str]) -> list[ModelRoute]:
    path = settings.config_dir / "models.yml" if settings.config_dir else None
    if path is not None and path.exists():
        return load_models(path, [*registry.BUILTIN, *extra])
    return default_routes()


def _admin(settings: Settings, entries: list[tuple[str, Principal]]) -> list[tuple[str, Principal]]:
    if not settings.admin_key:
        return entries
    if any(token == settings.admin_key for token, _ in entries):
        raise ConfigError(
            "environment",
            "CONTINUUM_ADMIN_KEY",
            "is also the token of a user in users.yml",
            "give the admin key a value of its own",
        )
    return [*entries, (settings.admin_key, ADMIN)]


def _keys(settings: Settings) -> tuple[list[tuple[str, Principal]], str | None]:
    path = settings.config_dir / "users.yml" if settings.config_dir else None
    if path is not None and path.exists():
        users = load_users(path)
        return _admin(settings, [(user.token, user.principal()) for user in users]), None
    if settings.admin_key:
        return _admin(settings, []), None  # keys are made through the admin API
    if settings.config_dir is not None and not settings.config_dir.is_dir():
        raise ConfigError(
            str(settings.config_dir),
            "(directory)",
            "does not exist",
            "create it or point CONTINUUM_CONFIG_DIR / --config-dir at an existing one",
        )
    key = sample.sample_key(settings.data_dir)
    if not settings.is_loopback:
        raise ConfigError(
            "users.yml",
            "(missing)",
            f"refusing to bind {', '.join(settings.public_hosts)} with the sample credential",
            "configure users.yml in the config dir, or bind 127.0.0.1",
        )
    return [(key, sample.PRINCIPAL)], key


def _simple_api(settings: Settings, table: RoutingTable, agents: AgentService) -> SimpleApi:
    """Seed 001's prompt API: its default model (checked now), whom it admits keyless, and
    the agents its ``/agent/{name}`` routes run."""
    path = settings.config_dir / "models.yml" if settings.config_dir else None
    model, where, key = settings.default_model, "environment", "CONTINUUM_DEFAULT_MODEL"
    if model is None and path is not None and path.exists():
        model, where, key = load_default_model(path), str(path), "default_model"
    if model is None:
        model = "local-text" if "local-text" in table else None
    else:
        try:
            table.get(model)
        except ModelNotFound:
            raise ConfigError(
                where, key, f"names no model ('{model}')", "use a routed model id"
            ) from None
    if not settings.simple_anonymous:
        return SimpleApi(model, agents=agents.stream)
    if model is None:
        raise ConfigError(
            "environment",
            "CONTINUUM_SIMPLE_ANONYMOUS",
            "admits callers without a key to /model, but no default model is configured",
            "set default_model in models.yml or CONTINUUM_DEFAULT_MODEL",
        )
    guest = Principal(
        id="anonymous",
        name="Anonymous",
        permissions=frozenset({model}),
        limits=settings.simple_anonymous_limits,
        anonymous=True,
    )
    return SimpleApi(model, guest, agents.stream)


def _agents(
    settings: Settings, table: RoutingTable, pipeline: Pipeline, limiter: Limiter, clock: Clock
) -> AgentService:
    """``agents.yml`` checked against the routes, its agents routed as ``agent/<name>``."""
    path = settings.config_dir / "agents.yml" if settings.config_dir else None
    agents: Mapping[str, Agent] = {}
    if path is not None and path.exists():

        def now() -> datetime:  # the `now` tool follows the gateway's clock
            return datetime.fromtimestamp(clock.time(), UTC)

        agents = load_agents(path, models=table, clock=now).agents
    service = AgentService(agents, pipeline, limiter)
    for route in service.routes():
        table.add(route)
    return service


def _secrets(settings: Settings, entries: list[tuple[str, Principal]]) -> list[str]:
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
    rules = registry.prefix_rules() if settings.prefix_routing else []
    table = RoutingTable([*_routes(settings, extra), *registry.env_routes(settings)], rules)
    entries, sample_key = _keys(settings)
    used = {d.provider for route in table.routes() for d in route.deployments}
    used |= {rule.provider for rule in rules}
    serving = {**registry.build(used - extra.keys(), settings), **extra}
    limiter = _limiter(settings, clock)
    validator = load_validator(settings.user_validator)
    database = open_database(settings)
    keys = KeyStore(database)
    usage_store = UsageStore(database)
    journal = Journal(settings.data_dir / "journal") if settings.usage_journal else None
    ledger = BatchingLedger(
        usage_store, journal=journal, dead_letter=settings.data_dir / "usage-rejected.jsonl"
    )
    redactor = Redactor(_secrets(settings, entries), log_prompts=settings.log_prompts)
    metrics = Metrics(multiprocess_dir=settings.metrics_dir)
    observer = GatewayObserver(metrics, AccessLog(redactor, enabled=settings.access_log))
    pipeline = Pipeline(
        authenticator=KeyChain(StaticKeys(entries), keys, clock=clock),
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
    agents = _agents(settings, table, pipeline, limiter, clock)
    return Gateway(
        settings,
        pipeline,
        serving,
        sample_key,
        limiter,
        database,
        ledger,
        usage_store,
        keys,
        validator,
        files=_file_store(settings, database),
        agents=agents,
        responses=ResponseStore(database),
        simple=_simple_api(settings, table, agents),
        clock=clock,
        metrics=metrics,
        redactor=redactor,
    )


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
    app.include_router(validate.router)
    app.include_router(console.router)
    # Before the prompt API: /agent/message/stream is not an agent named "message".
    app.include_router(agent_runtime.router)
    app.include_router(simple_routes.router)
    app.include_router(ws_chat.router)
    app.include_router(ws_simple.router)
    # Prometheus' text format, not part of the API: left out of /openapi.json on purpose
    # (docs/operations.md). The endpoint checks its own key or the client's address.
    metrics = MetricsEndpoint(gateway.metrics, key=gateway.settings.metrics_key)
    app.router.routes.append(Route("/metrics", metrics, methods=["GET", "HEAD"]))
    for prefix in simple_routes.PATHS:
        app.error_shapes.add(prefix, simple_routes.render_error)
    app.error_shapes.add(agent_runtime.PATH, agent_runtime.render_error)  # longest prefix wins
    if gateway.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(gateway.settings.cors_origins),
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

"""The composition root: the only module that names concrete backends.

``create_app`` validates all configuration before anything binds a port, so a bad
file fails the start instead of half-configuring the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from continuum import __version__
from continuum.auth import sample
from continuum.auth.chain import KeyChain
from continuum.auth.keys import StaticKeys
from continuum.auth.store import KeyStore
from continuum.auth.validator import Validator, load_validator
from continuum.config.models import default_routes, llama_routes, load_models
from continuum.config.users import load_users
from continuum.core.context import Principal
from continuum.core.pipeline import Pipeline
from continuum.doors.http import admin, console, errors, health, usage, validate
from continuum.doors.http import limits as limit_routes
from continuum.doors.http.fastpath import HttpApp
from continuum.doors.http.ids import RequestIds
from continuum.doors.http.openai import routes as openai_routes
from continuum.doors.http.openai.wire import ChatCompletionRequest
from continuum.errors import ConfigError
from continuum.limits.memory import MemoryLimiter
from continuum.providers import registry
from continuum.providers.base import Provider
from continuum.routing.health import Health
from continuum.routing.router import RetryPolicy, Router
from continuum.routing.table import PREFIX_RULES, ModelRoute, RoutingTable
from continuum.settings import Settings
from continuum.store.database import Database, database_url
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore

if TYPE_CHECKING:
    from continuum.limits.redis import RedisLimiter


@dataclass(slots=True)
class Gateway:
    """Everything one process serves with, built from settings."""

    settings: Settings
    pipeline: Pipeline
    providers: dict[str, Provider]
    sample_key: str | None
    limiter: MemoryLimiter | RedisLimiter
    database: Database
    ledger: BatchingLedger
    usage: UsageStore
    keys: KeyStore
    validate_user: Validator

    async def start(self) -> None:
        await self.database.migrate()
        self.ledger.start()

    async def aclose(self) -> None:
        await self.ledger.close()  # flush: a clean shutdown loses no usage record
        for provider in self.providers.values():
            await provider.aclose()
        await self.limiter.aclose()
        await self.database.close()


def open_database(settings: Settings) -> Database:
    return Database(
        database_url(settings.database_url, settings.data_dir), schema=settings.database_schema
    )


def _limiter(settings: Settings) -> MemoryLimiter | RedisLimiter:
    """Redis when configured (exact across replicas and workers), else this process's memory."""
    if settings.redis_url:
        # Imported only when used: redis-py costs idle memory a single process never needs.
        from redis.asyncio import Redis

        from continuum.limits.redis import RedisLimiter

        return RedisLimiter(Redis.from_url(settings.redis_url))
    return MemoryLimiter()


def _routes(settings: Settings) -> list[ModelRoute]:
    path = settings.config_dir / "models.yml" if settings.config_dir else None
    if path is not None and path.exists():
        return load_models(path, registry.BUILTIN)
    return default_routes()


def _keys(settings: Settings) -> tuple[list[tuple[str, Principal]], str | None]:
    path = settings.config_dir / "users.yml" if settings.config_dir else None
    if path is not None and path.exists():
        users = load_users(path)
        return [(user.token, user.principal()) for user in users], None
    if settings.admin_key:
        return [], None  # keys are made through the admin API
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
            f"refusing to bind {settings.host} with the sample credential",
            "configure users.yml in the config dir, or bind 127.0.0.1",
        )
    return [(key, sample.PRINCIPAL)], key


def build_gateway(settings: Settings) -> Gateway:
    rules = (
        [r for r in PREFIX_RULES if r.provider in registry.BUILTIN]
        if settings.prefix_routing
        else []
    )
    table = RoutingTable([*_routes(settings), *llama_routes(settings)], rules)
    entries, sample_key = _keys(settings)
    used = {d.provider for route in table.routes() for d in route.deployments}
    used |= {rule.provider for rule in rules}
    providers = registry.build(used, settings)
    limiter = _limiter(settings)
    validator = load_validator(settings.user_validator)
    database = open_database(settings)
    keys = KeyStore(database)
    usage_store = UsageStore(database)
    ledger = BatchingLedger(usage_store)
    pipeline = Pipeline(
        authenticator=KeyChain(StaticKeys(entries), keys),
        table=table,
        router=Router(
            providers,
            retry=RetryPolicy(retries=settings.retries),
            health=Health(settings.cooldown_failures, settings.cooldown_seconds),
        ),
        limiter=limiter,
        ledger=ledger,
    )
    return Gateway(
        settings,
        pipeline,
        providers,
        sample_key,
        limiter,
        database,
        ledger,
        usage_store,
        keys,
        validator,
    )


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        body = ChatCompletionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(body.pop("$defs", {}))
        components["ChatCompletionRequest"] = body
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings | None = None, gateway: Gateway | None = None) -> FastAPI:
    gateway = gateway or build_gateway(settings or Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.aclose()

    app = HttpApp(
        title="Continuum",
        version=__version__,
        description="The universal AI gateway: OpenAI-compatible HTTP over many providers.",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.pipeline = gateway.pipeline
    app.state.settings = gateway.settings
    app.state.limiter = gateway.limiter
    app.state.request_ids = RequestIds()
    errors.install(app)
    app.include_router(health.router)
    app.include_router(openai_routes.router)
    app.include_router(limit_routes.router)
    app.include_router(usage.router)
    app.include_router(admin.router)
    app.include_router(validate.router)
    app.include_router(console.router)
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
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used for ``--workers`` > 1)."""
    return create_app(Settings.from_env())

"""What a config directory serves (models, keys, agents), read whole and built off to the side.

    files = read_config(settings, providers)     # every file validated; nothing built yet
    served = assemble(files, pipeline, ...)      # the table, the key chain, the agents

``app.build_gateway`` does both at start; a reload (``config/reload.py``) does them again
beside the running gateway and swaps the result in only when every file validated, so a
request already running keeps the route, keys and agents it started with, and a bad file
leaves the old configuration serving. ``continuum config check`` stops after
``read_config``: it validates exactly what ``serve`` would, and prints it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from continuum.agents import Agent, AgentService, load_agents
from continuum.agents.agent import agent_model_id
from continuum.auth import sample
from continuum.auth.admin import ADMIN
from continuum.auth.chain import KeyChain
from continuum.auth.keys import StaticKeys
from continuum.auth.store import KeyStore
from continuum.config.models import default_routes, load_default_model, load_models
from continuum.config.users import load_users
from continuum.core.clock import Clock
from continuum.core.context import Principal
from continuum.core.pipeline import Pipeline
from continuum.core.ports import Limiter
from continuum.core.routes import ModelRoute
from continuum.dialects.simple.service import SimpleApi
from continuum.errors import ConfigError, ModelNotFound
from continuum.providers import registry
from continuum.routing.table import PrefixRule, RoutingTable
from continuum.settings import Settings

CONFIG_FILES = ("models.yml", "users.yml", "agents.yml")


def config_file(settings: Settings, name: str) -> Path | None:
    """``<config dir>/<name>`` when it exists."""
    path = settings.config_dir / name if settings.config_dir else None
    return path if path is not None and path.exists() else None


@dataclass(frozen=True, slots=True)
class ConfigFiles:
    """A config directory read and validated; nothing is built to serve it yet.

    ``users`` are the static keys: ``users.yml``'s, the admin key, or the sample credential
    (``sample_key``, the embedded default's, when there is no ``users.yml``).
    """

    routes: tuple[ModelRoute, ...]
    prefix_rules: tuple[PrefixRule, ...]
    users: tuple[tuple[str, Principal], ...]
    sample_key: str | None
    agents: Mapping[str, Agent]
    default_model: str | None

    def table(self) -> RoutingTable:
        return RoutingTable(self.routes, self.prefix_rules)

    def callers(self) -> dict[str, Principal]:
        """The users' principals by id, which an init token's ``sub`` may name
        (docs/sessions.md); never the admin."""
        return {principal.id: principal for _, principal in self.users if principal is not ADMIN}

    def providers(self) -> set[str]:
        """The provider types its routes use."""
        used = {d.provider for route in self.routes for d in route.deployments}
        return used | {rule.provider for rule in self.prefix_rules}


@dataclass(frozen=True, slots=True)
class Served:
    """One configuration being served: swapped whole by a reload (``Gateway.reconfigure``)."""

    files: ConfigFiles
    table: RoutingTable  # the models and the agents, as the pipeline routes them
    authenticator: KeyChain
    agents: AgentService
    simple: SimpleApi


def _routes(settings: Settings, providers: Iterable[str]) -> list[ModelRoute]:
    path = config_file(settings, "models.yml")
    if path is not None:
        return load_models(path, providers)
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


def _keys(settings: Settings, make_sample: bool) -> tuple[list[tuple[str, Principal]], str | None]:
    path = config_file(settings, "users.yml")
    if path is not None:
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
    if not settings.is_loopback:
        raise ConfigError(
            "users.yml",
            "(missing)",
            f"refusing to bind {', '.join(settings.public_hosts)} with the sample credential",
            "configure users.yml in the config dir, or bind 127.0.0.1",
        )
    # `config check` must not write the data dir: it shows the key without making it.
    key = sample.sample_key(settings.data_dir) if make_sample else "(the sample credential)"
    return [(key, sample.PRINCIPAL)], key


def _default_model(settings: Settings, table: RoutingTable, agents: Iterable[str]) -> str | None:
    """Seed 001's prompt API's model (checked now: a routed model or an agent)."""
    path = config_file(settings, "models.yml")
    model, where, key = settings.default_model, "environment", "CONTINUUM_DEFAULT_MODEL"
    if model is None and path is not None:
        model, where, key = load_default_model(path), str(path), "default_model"
    if model is None:
        model = "local-text" if "local-text" in table else None
    elif model not in {agent_model_id(name) for name in agents}:
        try:
            table.get(model)
        except ModelNotFound:
            raise ConfigError(
                where, key, f"names no model ('{model}')", "use a routed model id"
            ) from None
    if settings.simple_anonymous and model is None:
        raise ConfigError(
            "environment",
            "CONTINUUM_SIMPLE_ANONYMOUS",
            "admits callers without a key to /model, but no default model is configured",
            "set default_model in models.yml or CONTINUUM_DEFAULT_MODEL",
        )
    return model


def read_config(
    settings: Settings,
    providers: Iterable[str] = (),
    clock: Clock | None = None,
    *,
    make_sample: bool = True,
) -> ConfigFiles:
    """Read and check ``models.yml``, ``users.yml`` and ``agents.yml`` (``ConfigError`` naming
    the file, key and fix on the first problem). ``providers`` are provider names besides
    the built-in ones that ``models.yml`` may use; ``clock`` is the agents' ``now`` tool's."""
    rules = registry.prefix_rules() if settings.prefix_routing else []
    known = [*registry.BUILTIN, *providers]
    routes = [*_routes(settings, known), *registry.env_routes(settings)]
    table = RoutingTable(routes, rules)
    entries, sample_key = _keys(settings, make_sample)
    agents: Mapping[str, Agent] = {}
    path = config_file(settings, "agents.yml")
    if path is not None:
        agents = load_agents(path, models=table, clock=_now(clock) if clock else None).agents
    return ConfigFiles(
        routes=tuple(table.routes()),  # models.yml's first: an env route of the same id loses
        prefix_rules=tuple(rules),
        users=tuple(entries),
        sample_key=sample_key,
        agents=agents,
        default_model=_default_model(settings, table, agents),
    )


def _now(clock: Clock) -> Callable[[], datetime]:
    def now() -> datetime:  # the `now` tool follows the gateway's clock
        return datetime.fromtimestamp(clock.time(), UTC)

    return now


def key_chain(files: ConfigFiles, keys: KeyStore, clock: Clock) -> KeyChain:
    """The static keys of ``files`` in front of the run-time key store."""
    return KeyChain(StaticKeys(files.users), keys, clock=clock)


def assemble(
    files: ConfigFiles,
    settings: Settings,
    *,
    table: RoutingTable,
    authenticator: KeyChain,
    pipeline: Pipeline,
    limiter: Limiter,
) -> Served:
    """The agents of ``files`` (run through ``pipeline``), routed as ``agent/<name>`` in
    ``table``, and the prompt API's configuration."""
    agents = AgentService(files.agents, pipeline, limiter)
    for route in agents.routes():
        table.add(route)
    guest = None
    if settings.simple_anonymous and files.default_model is not None:
        guest = Principal(
            id="anonymous",
            name="Anonymous",
            permissions=frozenset({files.default_model}),
            limits=settings.simple_anonymous_limits,
            anonymous=True,
        )
    simple = SimpleApi(files.default_model, guest, agents.stream)
    return Served(files, table, authenticator, agents, simple)

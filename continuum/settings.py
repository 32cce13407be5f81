"""The one settings object. This is the only module that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from continuum.core.limits import RateLimit, parse_rate_limits
from continuum.errors import ConfigError

DEFAULT_MAX_BODY = 8 * 1024 * 1024
DEFAULT_MAX_FILE = 512 * 1024 * 1024  # OpenAI's own cap on one uploaded file
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
ANONYMOUS_RATE_LIMIT = "20/minute, 20000 tokens/hour"  # per anonymous user_id (or address)
WS_MAX_BUFFERED = 1024 * 1024
# prometheus-client's own variable, which it reads at import (continuum serve --workers sets it).
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Seed 003's example value for GATEWAY__INTERNAL_API_KEY: known to everyone, so refused.
DEFAULT_INTERNAL_KEY = "change-me-internal-key"
INTERNAL_KEY, SEED_INTERNAL_KEY = "CONTINUUM_INTERNAL_KEY", "GATEWAY__INTERNAL_API_KEY"


def _int(env: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            "environment", key, f"{raw!r} is not an integer", f"set {key} to a number"
        ) from None
    if not low <= value <= high:
        raise ConfigError("environment", key, f"{value} is out of range", f"use {low}..{high}")
    return value


def _seconds(env: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            "environment", key, f"{raw!r} is not a number", f"set {key} to seconds"
        ) from None
    if not low <= value <= high:
        raise ConfigError("environment", key, f"{value} is out of range", f"use {low}..{high}")
    return value


def _delays(env: Mapping[str, str], key: str) -> tuple[float, ...] | None:
    raw = env.get(key, "").strip()
    if not raw:
        return None
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        delays = ()
    if not delays or len(delays) > 50 or not all(0 < d <= 7 * 86400 for d in delays):
        raise ConfigError(
            "environment", key, f"{raw!r} is not a list of delays", "use seconds like '5,300,1800'"
        )
    return delays


def _limits(env: Mapping[str, str], key: str, default: str) -> tuple[RateLimit, ...]:
    raw = env.get(key) or default
    try:
        return parse_rate_limits([part.strip() for part in raw.split(",") if part.strip()])
    except ValueError as error:
        raise ConfigError(
            "environment", key, str(error), f"set {key} to limits like '{default}'"
        ) from None


def _choice(env: Mapping[str, str], key: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (any case); the first when unset."""
    raw = env.get(key, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(
            "environment", key, f"{raw!r} is unknown", f"use one of {', '.join(choices)}"
        )
    return raw


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = env.get(key, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(
        "environment", key, f"{raw!r} is not a boolean", f"set {key} to true or false"
    )


# -- The TCP door and `continuum chat` ----------------------------------------------------
# Seed 000 names the TCP door's variables ENABLE_TCP_SERVER, TCP_HOST and TCP_PORT (and the
# HTTP door's HTTP_HOST, HTTP_PORT); they are accepted beside the CONTINUUM_ ones, which win.


def _named(env: Mapping[str, str], name: str, *aliases: str) -> str:
    """The first of ``name`` and its ``aliases`` that is set (``name`` when none is)."""
    for key in (name, *aliases):
        if env.get(key, "") != "":
            return key
    return name


def is_loopback_host(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


@dataclass(frozen=True, slots=True)
class TcpSettings:
    """The Continuum TCP protocol's listener (docs/protocol.md) and its per-connection limits.

    ``host`` ``None`` binds the HTTP door's host. Timeouts are in seconds.
    """

    enabled: bool = False
    host: str | None = None
    port: int = 8989
    max_concurrent_requests: int = 100
    request_window: int = 65_536
    connection_window: int = 1 << 20
    handshake_timeout: int = 5
    drain_timeout: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TcpSettings:
        return cls(
            enabled=_flag(env, _named(env, "CONTINUUM_TCP_ENABLED", "ENABLE_TCP_SERVER")),
            host=env.get(_named(env, "CONTINUUM_TCP_HOST", "TCP_HOST")) or None,
            port=_int(env, _named(env, "CONTINUUM_TCP_PORT", "TCP_PORT"), 8989, 0, 65535),
            max_concurrent_requests=_int(
                env, "CONTINUUM_TCP_MAX_CONCURRENT_REQUESTS", 100, 1, 100_000
            ),
            request_window=_int(env, "CONTINUUM_TCP_REQUEST_WINDOW", 65_536, 16_384, 2**31 - 1),
            connection_window=_int(
                env, "CONTINUUM_TCP_CONNECTION_WINDOW", 1 << 20, 16_384, 2**31 - 1
            ),
            handshake_timeout=_int(env, "CONTINUUM_TCP_HANDSHAKE_TIMEOUT", 5, 1, 300),
            drain_timeout=_int(env, "CONTINUUM_TCP_DRAIN_TIMEOUT", 10, 0, 3600),
        )


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Durable stream sessions (seeds 002 and 003, docs/sessions.md): who may start them,
    how long they live, and where their completion callbacks go. Times are in seconds.

    Seed 002's names (``JWT_SECRET``, ``WEBHOOK_SECRET``) are accepted beside the
    ``CONTINUUM_`` ones, which win.
    """

    jwt_secret: str | None = None  # HS256 key of /init-stream's n8nToken and of access tokens
    jwt_public_key: str | None = None  # PEM (or a path to one): RS256/ES256 init tokens
    webhook_secret: str | None = None  # whsec_… (Standard Webhooks): signs the callbacks
    callback_allow_private: bool = False  # let resumeUrl reach loopback/private addresses
    callback_timeout: float = 15.0  # one delivery attempt
    # Waits after each failed attempt (None: Svix's 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    callback_retry_delays: tuple[float, ...] | None = None
    public_url: str | None = None  # base of streamUrl; else taken from the request
    model: str | None = None  # the sessions' default model (else the gateway's default)
    max_tokens: int = 4096  # /init-stream's default max_tokens (seed 002)
    pending_ttl: float = 60.0  # an unattached session expires (seed 002)
    retention: float = 600.0  # an ended session's buffer stays readable
    start_at_init: bool = False  # generate at /init-stream instead of at first attach
    access_token_ttl: float = 300.0  # the streamUrl's access_token
    heartbeat: float = 15.0  # SSE comment on an idle stream

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SessionSettings:
        env = os.environ if env is None else env
        public_key = env.get("CONTINUUM_JWT_PUBLIC_KEY") or None
        if public_key and not public_key.lstrip().startswith("-----"):
            path = Path(public_key)
            if not path.is_file():
                raise ConfigError(
                    "environment",
                    "CONTINUUM_JWT_PUBLIC_KEY",
                    "is neither a PEM key nor the path of a file",
                    "paste the PEM text or give the path of the .pem file",
                )
            public_key = path.read_text()
        return cls(
            jwt_secret=env.get(_named(env, "CONTINUUM_JWT_SECRET", "JWT_SECRET")) or None,
            jwt_public_key=public_key,
            webhook_secret=env.get(_named(env, "CONTINUUM_WEBHOOK_SECRET", "WEBHOOK_SECRET"))
            or None,
            callback_allow_private=_flag(env, "CONTINUUM_CALLBACK_ALLOW_PRIVATE"),
            callback_timeout=_seconds(env, "CONTINUUM_CALLBACK_TIMEOUT", 15.0, 0.1, 600),
            callback_retry_delays=_delays(env, "CONTINUUM_CALLBACK_RETRY_DELAYS"),
            public_url=(env.get("CONTINUUM_PUBLIC_URL") or "").rstrip("/") or None,
            model=env.get("CONTINUUM_SESSION_MODEL") or None,
            max_tokens=_int(env, "CONTINUUM_SESSION_MAX_TOKENS", 4096, 1, 1_000_000),
            pending_ttl=_seconds(env, "CONTINUUM_SESSION_TTL", 60.0, 0.1, 86400),
            retention=_seconds(env, "CONTINUUM_SESSION_RETENTION", 600.0, 1, 30 * 86400),
            start_at_init=_flag(env, "CONTINUUM_SESSION_START_AT_INIT"),
            access_token_ttl=_seconds(env, "CONTINUUM_STREAM_TOKEN_TTL", 300.0, 5, 86400),
            heartbeat=_seconds(env, "CONTINUUM_STREAM_HEARTBEAT", 15.0, 0.05, 300),
        )


@dataclass(frozen=True, slots=True)
class ChatClientSettings:
    """What ``continuum chat`` reads from its environment: the key and where the sample
    credential lives."""

    api_key: str | None = None
    data_dir: Path = Path("data")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChatClientSettings:
        env = os.environ if env is None else env
        return cls(
            api_key=env.get("CONTINUUM_API_KEY") or None,
            data_dir=Path(env.get("CONTINUUM_DATA_DIR") or "data"),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway reads from its environment, validated once at start.

    Providers read their customary variables (``OPENAI_API_KEY``, ``OLLAMA_BASE_URL``,
    ``LLAMA_*``, ...) from ``environ`` in their own folders; this class knows none of them.
    Tests build settings from a mapping (``Settings.from_env({...}, **overrides)``).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    config_dir: Path | None = None
    data_dir: Path = Path("data")
    log_level: str = "info"
    workers: int = 1
    max_body_bytes: int = DEFAULT_MAX_BODY
    cors_origins: tuple[str, ...] = ()
    # Route unknown "claude-*" / "gpt-*" / "o1…" names by prefix (off: typos stay 404s).
    prefix_routing: bool = False
    # Resilience defaults (models.yml may override retries per model).
    retries: int = 1
    cooldown_failures: int = 3
    cooldown_seconds: float = 30.0
    # Shared state for several replicas (used when set).
    redis_url: str | None = None
    redis_max_connections: int = 256  # per client (limits, sessions); more commands wait
    redis_prefix: str = "continuum:"  # every key (and channel) name starts with it
    database_url: str | None = None
    database_schema: str | None = None  # PostgreSQL schema to keep Continuum's tables in
    admin_key: str | None = None
    user_validator: str | None = None  # dotted path of the /validate-user validator
    # Clients and the ledger's journal (docs/configuration.md, "Slow clients and the journal").
    header_timeout: float = 10.0  # a request's line and headers must arrive within this
    body_timeout: float = 60.0  # and its body within this (408 otherwise)
    keep_alive_timeout: float = 5.0  # an idle kept-alive connection is closed after this
    shutdown_timeout: float = 30.0  # at SIGTERM, open requests get this long, then are cancelled
    max_connections: int | None = None  # None: half the process's file descriptor limit
    usage_journal: bool = True  # journal usage records under <data dir>/journal
    # Seed 001's prompt API and the WebSocket doors (docs/doors.md).
    default_model: str | None = None  # the model behind /model (else models.yml's default_model)
    simple_anonymous: bool = False  # admit prompt-API callers without a key, by user_id or address
    simple_anonymous_limits: tuple[RateLimit, ...] = parse_rate_limits(
        ANONYMOUS_RATE_LIMIT.split(", ")
    )  # each anonymous caller's own limits
    ws_max_pending: int = 32  # requests a WebSocket may queue behind the one it serves
    ws_max_buffered_bytes: int = WS_MAX_BUFFERED  # unsent bytes a WebSocket may hold, then
    ws_slow_consumer_seconds: float = 10.0  # how long it may stay full before it is closed
    # The Files API: the largest upload (apart from the JSON body limit above). The files
    # live in data_dir/files on SQLite, in the database itself on PostgreSQL.
    max_file_bytes: int = DEFAULT_MAX_FILE
    # Internal services (seed 003): the key of X-Internal-Auth, which endpoints meant for
    # other services require and the agent_runtime provider sends. Dev mode
    # (CONTINUUM_DEV_MODE, seed 002's DEV_MODE) allows development shortcuts, such as
    # the seed's published default key.
    internal_key: str | None = None
    dev_mode: bool = False
    # Operating it (docs/operations.md): /metrics, the log's format and what it may show.
    metrics_key: str | None = None  # /metrics needs it as a bearer token; else loopback only
    log_format: str = "auto"  # json | text | auto (text on a terminal, JSON otherwise)
    log_prompts: bool = False  # let conversation content into logs (credentials never)
    access_log: bool = True  # one line per request on the continuum.access logger
    # Set by `continuum serve --workers N` for its workers: prometheus-client's shared
    # directory, where every worker's series are summed (PROMETHEUS_MULTIPROC_DIR).
    metrics_dir: Path | None = None
    # Reload the config directory when a file changes (SIGHUP always reloads it).
    config_watch: bool = False
    config_watch_interval: float = 1.0  # seconds between two looks at the files
    tcp: TcpSettings = field(default_factory=TcpSettings)
    sessions: SessionSettings = field(default_factory=SessionSettings)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from environment variables, then apply non-``None`` overrides (flags)."""
        env = dict(os.environ if env is None else env)
        config_dir = env.get("CONTINUUM_CONFIG_DIR")
        if config_dir is None and Path("config").is_dir():
            config_dir = "config"
        level_key = "CONTINUUM_LOG_LEVEL" if "CONTINUUM_LOG_LEVEL" in env else "GATEWAY__LOG_LEVEL"
        log_level = env.get(level_key, "info").lower()
        if log_level not in LOG_LEVELS:
            raise ConfigError(
                "environment",
                level_key,
                f"{log_level!r} is unknown",
                f"use one of {', '.join(LOG_LEVELS)}",
            )
        settings = cls(
            host=env.get(_named(env, "CONTINUUM_HOST", "HTTP_HOST")) or "127.0.0.1",
            port=_int(env, _named(env, "CONTINUUM_PORT", "HTTP_PORT"), 8080, 0, 65535),
            config_dir=Path(config_dir) if config_dir else None,
            data_dir=Path(env.get("CONTINUUM_DATA_DIR", "data")),
            log_level=log_level,
            workers=_int(env, "CONTINUUM_WORKERS", 1, 1, 64),
            max_body_bytes=_int(env, "CONTINUUM_MAX_BODY_BYTES", DEFAULT_MAX_BODY, 1024, 1 << 30),
            cors_origins=tuple(
                o.strip()
                for o in env.get(
                    _named(env, "CONTINUUM_CORS_ORIGINS", "ALLOWED_ORIGINS"), ""
                ).split(",")
                if o.strip()
            ),
            prefix_routing=_flag(env, "CONTINUUM_PREFIX_ROUTING"),
            retries=_int(env, "CONTINUUM_RETRIES", 1, 0, 10),
            cooldown_failures=_int(env, "CONTINUUM_COOLDOWN_FAILURES", 3, 1, 1000),
            cooldown_seconds=_int(env, "CONTINUUM_COOLDOWN_SECONDS", 30, 0, 86400),
            redis_url=env.get("CONTINUUM_REDIS_URL") or None,
            redis_max_connections=_int(env, "CONTINUUM_REDIS_MAX_CONNECTIONS", 256, 1, 100_000),
            redis_prefix=env.get("CONTINUUM_REDIS_PREFIX") or "continuum:",
            database_url=env.get("CONTINUUM_DATABASE_URL") or None,
            database_schema=env.get("CONTINUUM_DATABASE_SCHEMA") or None,
            admin_key=env.get("CONTINUUM_ADMIN_KEY") or None,
            user_validator=env.get("CONTINUUM_USER_VALIDATOR") or None,
            header_timeout=_seconds(env, "CONTINUUM_HEADER_TIMEOUT", 10.0, 0.1, 3600),
            body_timeout=_seconds(env, "CONTINUUM_BODY_TIMEOUT", 60.0, 0.1, 86400),
            keep_alive_timeout=_seconds(env, "CONTINUUM_KEEP_ALIVE_TIMEOUT", 5.0, 0.1, 3600),
            shutdown_timeout=_seconds(env, "CONTINUUM_SHUTDOWN_TIMEOUT", 30.0, 0, 86400),
            max_connections=_int(env, "CONTINUUM_MAX_CONNECTIONS", 0, 0, 1_000_000) or None,
            usage_journal=_flag(env, "CONTINUUM_USAGE_JOURNAL")
            if env.get("CONTINUUM_USAGE_JOURNAL")
            else True,
            default_model=env.get("CONTINUUM_DEFAULT_MODEL") or None,
            simple_anonymous=_flag(env, "CONTINUUM_SIMPLE_ANONYMOUS"),
            simple_anonymous_limits=_limits(
                env, "CONTINUUM_SIMPLE_ANONYMOUS_RATE_LIMIT", ANONYMOUS_RATE_LIMIT
            ),
            ws_max_pending=_int(env, "CONTINUUM_WS_MAX_PENDING", 32, 1, 1024),
            ws_max_buffered_bytes=_int(
                env, "CONTINUUM_WS_MAX_BUFFERED_BYTES", WS_MAX_BUFFERED, 16 * 1024, 1 << 30
            ),
            ws_slow_consumer_seconds=_int(env, "CONTINUUM_WS_SLOW_CONSUMER_SECONDS", 10, 1, 3600),
            max_file_bytes=_int(env, "CONTINUUM_MAX_FILE_BYTES", DEFAULT_MAX_FILE, 1, 1 << 40),
            internal_key=env.get(INTERNAL_KEY) or env.get(SEED_INTERNAL_KEY) or None,
            dev_mode=_flag(env, "CONTINUUM_DEV_MODE") or _flag(env, "DEV_MODE"),
            metrics_key=env.get("CONTINUUM_METRICS_KEY") or None,
            log_format=_choice(env, "CONTINUUM_LOG_FORMAT", ("auto", "json", "text")),
            log_prompts=_flag(env, "CONTINUUM_LOG_PROMPTS"),
            access_log=_flag(env, "CONTINUUM_ACCESS_LOG")
            if env.get("CONTINUUM_ACCESS_LOG")
            else True,
            metrics_dir=Path(env[METRICS_DIR]) if env.get(METRICS_DIR) else None,
            config_watch=_flag(env, "CONTINUUM_CONFIG_WATCH"),
            config_watch_interval=_seconds(env, "CONTINUUM_CONFIG_WATCH_INTERVAL", 1.0, 0.05, 3600),
            tcp=TcpSettings.from_env(env),
            sessions=SessionSettings.from_env(env),
            environ=env,
        )
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        if settings.internal_key == DEFAULT_INTERNAL_KEY and not settings.dev_mode:
            raise ConfigError(
                "environment",
                INTERNAL_KEY if env.get(INTERNAL_KEY) else SEED_INTERNAL_KEY,
                f"is seed 003's published default '{DEFAULT_INTERNAL_KEY}'",
                "set a long random key (the same on every service of the chain), "
                "or CONTINUUM_DEV_MODE=true on a development machine",
            )
        return settings

    @property
    def tcp_host(self) -> str:
        """The TCP door's address: its own, else the HTTP door's."""
        return self.tcp.host or self.host

    @property
    def public_hosts(self) -> tuple[str, ...]:
        """The non-loopback addresses the gateway binds (HTTP, and TCP when enabled)."""
        hosts = [self.host, *([self.tcp_host] if self.tcp.enabled else [])]
        return tuple(dict.fromkeys(host for host in hosts if not is_loopback_host(host)))

    @property
    def is_loopback(self) -> bool:
        """True when every door binds only loopback addresses."""
        return not self.public_hosts

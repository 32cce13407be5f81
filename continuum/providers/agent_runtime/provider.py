"""The ``agent_runtime`` provider: models answered by another service's agent runtime.

Each request goes to ``<base_url>/agent/message/stream`` with the internal key in
``X-Internal-Auth``, and the SSE reply is relayed as core events; so gateway A ->
agent runtime B -> model proxy C is three Continuum processes (seed 003's chain).

Deployment options: ``base_url`` (default ``CONTINUUM_AGENT_URL``, seed 003's
``GATEWAY__AGENT_URL``, else http://localhost:8001), ``api_key``/``api_key_env`` (the
internal key to send; default this server's own ``CONTINUUM_INTERNAL_KEY``, since seed
003 keeps one key across its services), ``timeout`` (default ``CONTINUUM_AGENT_TIMEOUT``,
seed 003's ``GATEWAY__REQUEST_TIMEOUT``, else none), ``connect_timeout``,
``first_token_timeout``. ``upstream_model`` is what the runtime answers with:
``agent/<name>`` for one of its agents.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

from continuum.core.events import Event
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.errors import ConfigError
from continuum.providers.agent_runtime.decode import PROVIDER, RuntimeDecoder
from continuum.providers.agent_runtime.wire import PATH, error_message, message_body
from continuum.providers.streaming import relay
from continuum.providers.upstream import Timeouts, Upstream, api_key
from continuum.settings import Settings

DEFAULT_BASE_URL = "http://localhost:8001"  # seed 003's default agent-runtime address
URL_VARIABLES = ("CONTINUUM_AGENT_URL", "GATEWAY__AGENT_URL")
TIMEOUT_VARIABLES = ("CONTINUUM_AGENT_TIMEOUT", "GATEWAY__REQUEST_TIMEOUT")


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    return next(((name, env[name]) for name in names if env.get(name)), None)


def _timeout(env: Mapping[str, str]) -> float | None:
    found = _first(env, TIMEOUT_VARIABLES)
    if found is None:
        return None
    name, raw = found
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise ConfigError(
            "environment", name, f"{raw!r} is not a timeout", "give seconds, e.g. 30 or 2.5"
        )
    return seconds


class AgentRuntimeProvider:
    """Streams replies from agent runtimes (another Continuum, or any service speaking it)."""

    name = PROVIDER

    def __init__(self, settings: Settings):
        self._settings = settings
        found = _first(settings.environ, URL_VARIABLES)
        self._base_url = found[1] if found else DEFAULT_BASE_URL
        self._timeout = _timeout(settings.environ)
        self._upstream = Upstream(self.name, error_message)

    def _timeouts(self, options: Mapping[str, object]) -> Timeouts:
        timeouts = Timeouts.of(options)
        if timeouts.total is None and self._timeout is not None:
            return Timeouts(timeouts.connect, timeouts.first_token or self._timeout, self._timeout)
        return timeouts

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        options = deployment.options
        base = str(options.get("base_url") or self._base_url).rstrip("/")
        key = api_key(options, self._settings, self._settings.internal_key)
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        if key:
            headers["x-internal-auth"] = key
        body = message_body(request, deployment.upstream_model)
        pieces = self._upstream.stream(f"{base}{PATH}", body, headers, self._timeouts(options), key)
        async for event in relay(pieces, RuntimeDecoder(), self.name):
            yield event

    async def aclose(self) -> None:
        await self._upstream.aclose()

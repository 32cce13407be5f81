"""The Anthropic provider, on the Messages API (``POST {base_url}/v1/messages``).

Deployment options: ``base_url`` (default ``ANTHROPIC_BASE_URL``,
https://api.anthropic.com), ``api_key``/``api_key_env`` (default ``ANTHROPIC_API_KEY``),
``max_tokens`` (used when the client gives none; Anthropic requires one),
``timeout``, ``connect_timeout``, ``first_token_timeout``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from continuum.core.events import Event
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.errors import UpstreamUnavailable
from continuum.providers.anthropic.decode import EventDecoder
from continuum.providers.anthropic.wire import API_VERSION, chat_body, error_message
from continuum.providers.streaming import relay
from continuum.providers.upstream import Timeouts, Upstream, api_key
from continuum.settings import Settings

DEFAULT_BASE_URL = "https://api.anthropic.com"
# Anthropic's "overloaded" status: retry elsewhere, as for a 503.
STATUSES = {529: UpstreamUnavailable}


class AnthropicProvider:
    """Chats with Claude models, translated both ways to the neutral events."""

    name = "anthropic"

    def __init__(self, settings: Settings):
        self._settings = settings
        self._base_url = settings.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        self._api_key = settings.environ.get("ANTHROPIC_API_KEY") or None
        self._upstream = Upstream(self.name, error_message, STATUSES)

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        options = deployment.options
        base = str(options.get("base_url") or self._base_url).rstrip("/")
        key = api_key(options, self._settings, self._api_key)
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "anthropic-version": API_VERSION,
        }
        if key:
            headers["x-api-key"] = key
        if request.request_id:  # the id the client got, so both sides' logs can be joined
            headers["x-request-id"] = request.request_id
        limit = options.get("max_tokens")
        body = chat_body(request, deployment.upstream_model, int(limit) if limit else None)
        url = f"{base}/v1/messages"
        pieces = self._upstream.stream(url, body, headers, Timeouts.of(options), key)
        async for event in relay(pieces, EventDecoder(), self.name):
            yield event

    async def aclose(self) -> None:
        await self._upstream.aclose()

"""The Ollama provider, on Ollama's native API (``/api/chat``, ``/api/embed``).

Deployment options: ``base_url`` (default ``OLLAMA_BASE_URL``, http://localhost:11434),
``api_key``/``api_key_env`` (sent as a bearer token, for an authenticating proxy),
``timeout``, ``connect_timeout``, ``first_token_timeout``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import orjson

from continuum.core.embedding import EmbeddingInput, is_token_input
from continuum.core.events import Event
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.embeddings.vectors import shorten
from continuum.errors import InvalidRequest, UpstreamError
from continuum.providers.ollama.decode import LineDecoder
from continuum.providers.ollama.wire import chat_body, error_message
from continuum.providers.streaming import relay
from continuum.providers.upstream import Timeouts, Upstream, api_key
from continuum.settings import Settings

DEFAULT_BASE_URL = "http://localhost:11434"


class OllamaProvider:
    """Chat and embeddings from an Ollama server."""

    name = "ollama"

    def __init__(self, settings: Settings):
        self._settings = settings
        self._base_url = settings.environ.get("OLLAMA_BASE_URL") or DEFAULT_BASE_URL
        self._upstream = Upstream(self.name, error_message)

    def _target(self, deployment: Deployment, path: str) -> tuple[str, dict[str, str], str | None]:
        base = str(deployment.options.get("base_url") or self._base_url)
        key = api_key(deployment.options, self._settings, None)
        headers = {"content-type": "application/json"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        return f"{base.rstrip('/')}{path}", headers, key

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        url, headers, key = self._target(deployment, "/api/chat")
        if request.request_id:  # the id the client got, so both sides' logs can be joined
            headers["x-request-id"] = request.request_id
        body = chat_body(request, deployment.upstream_model)
        pieces = self._upstream.stream(url, body, headers, Timeouts.of(deployment.options), key)
        async for event in relay(pieces, LineDecoder(), self.name):
            yield event

    async def embed(
        self, inputs: EmbeddingInput, deployment: Deployment, *, dimensions: int | None = None
    ) -> tuple[list[list[float]], int]:
        """Embedding vectors and the prompt tokens Ollama counted.

        Ollama's ``/api/embed`` takes text only, and a client's token ids belong to
        another tokenizer, so token arrays are refused. ``dimensions`` is applied here
        (truncate and re-normalise, as text-embedding-3 does).
        """
        if is_token_input(inputs):
            raise InvalidRequest(
                f"the Ollama model '{deployment.upstream_model}' takes text input only, "
                "not token arrays",
                param="input",
            )
        url, headers, key = self._target(deployment, "/api/embed")
        body = {"model": deployment.upstream_model, "input": list(inputs)}
        timeouts = Timeouts.of(deployment.options)
        raw = b"".join([p async for p in self._upstream.stream(url, body, headers, timeouts, key)])
        try:
            payload: Any = orjson.loads(raw)
            vectors: list[list[float]] = payload["embeddings"]
            tokens = int(payload.get("prompt_eval_count") or 0)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise UpstreamError("ollama upstream sent a malformed embeddings answer") from error
        if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
            raise UpstreamError("ollama upstream sent embeddings that are not lists of numbers")
        if dimensions is not None:
            vectors = [shorten(vector, dimensions) for vector in vectors]
        return vectors, tokens

    async def aclose(self) -> None:
        await self._upstream.aclose()

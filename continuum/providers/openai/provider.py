"""The OpenAI provider: OpenAI itself and every OpenAI-compatible server.

Deployment options: ``base_url`` (default ``OPENAI_BASE_URL``, else
https://api.openai.com/v1), ``api_key`` or ``api_key_env`` (default ``OPENAI_API_KEY``),
``timeout``, ``connect_timeout``, ``first_token_timeout``. Streaming requests stream
upstream too, with usage; for a non-streaming request the upstream is asked for one
whole answer, which becomes the same events (one JSON object instead of a chunk a token).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import orjson

from continuum.core.embedding import EmbeddingInput
from continuum.core.events import Event
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.errors import UpstreamError
from continuum.providers.openai.decode import ChunkDecoder, completion_events
from continuum.providers.openai.wire import chat_body, error_message
from continuum.providers.streaming import relay
from continuum.providers.upstream import Timeouts, Upstream, api_key
from continuum.settings import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider:
    """Chat and embeddings over the OpenAI HTTP API."""

    name = "openai"

    def __init__(self, settings: Settings):
        self._settings = settings
        self._base_url = settings.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self._api_key = settings.environ.get("OPENAI_API_KEY") or None
        self._upstream = Upstream(self.name, error_message)

    def _target(self, deployment: Deployment, path: str) -> tuple[str, dict[str, str], str | None]:
        options = deployment.options
        base = str(options.get("base_url") or self._base_url).rstrip("/")
        key = api_key(options, self._settings, self._api_key)
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        if key:
            headers["authorization"] = f"Bearer {key}"
        return f"{base}{path}", headers, key

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        url, headers, key = self._target(deployment, "/chat/completions")
        if request.request_id:  # the id the client got, so both sides' logs can be joined
            headers["x-request-id"] = request.request_id
        body = chat_body(request, deployment.upstream_model)
        if not request.stream:
            headers["accept"] = "application/json"
            payload = await self._whole(url, body, headers, deployment, key)
            for event in completion_events(payload):
                yield event
            return
        pieces = self._upstream.stream(url, body, headers, Timeouts.of(deployment.options), key)
        async for event in relay(pieces, ChunkDecoder(), self.name):
            yield event

    async def _whole(
        self,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str],
        deployment: Deployment,
        key: str | None,
    ) -> Any:
        """One non-streamed JSON answer (failures raise: nothing was sent yet)."""
        chunks = [
            piece
            async for piece in self._upstream.stream(
                url, body, headers, Timeouts.of(deployment.options), key
            )
        ]
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as error:
            raise UpstreamError("openai upstream sent malformed JSON") from error

    async def embed(
        self, inputs: EmbeddingInput, deployment: Deployment, *, dimensions: int | None = None
    ) -> tuple[list[list[float]], int]:
        """Embedding vectors and the prompt tokens the upstream counted.

        Texts and token arrays are both sent as they came (OpenAI reads the ids with its
        own tokenizer), and ``dimensions`` is the upstream's to honour or refuse.
        """
        url, headers, key = self._target(deployment, "/embeddings")
        headers["accept"] = "application/json"
        body: dict[str, Any] = {
            "model": deployment.upstream_model,
            "input": [list(item) if not isinstance(item, str) else item for item in inputs],
        }
        if dimensions is not None:
            body["dimensions"] = dimensions
        payload = await self._whole(url, body, headers, deployment, key)
        try:
            vectors = [item["embedding"] for item in sorted(payload["data"], key=_index)]
            tokens = int((payload.get("usage") or {}).get("prompt_tokens") or 0)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise UpstreamError("openai upstream sent a malformed embeddings answer") from error
        if not all(isinstance(vector, list) for vector in vectors):
            raise UpstreamError("openai upstream sent embeddings that are not lists of numbers")
        return vectors, tokens

    async def aclose(self) -> None:
        await self._upstream.aclose()


def _index(item: Any) -> int:
    return int(item.get("index") or 0)

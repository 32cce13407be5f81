"""The local provider: deterministic models streamed word by word, with honest usage.

Besides the chat models it has ``embed``, a deterministic embedding model (see
``embedding.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import cast

from continuum.core.embedding import NO_EMBEDDINGS, EmbeddingInput, is_token_input
from continuum.core.events import Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.embeddings.vectors import shorten
from continuum.errors import InvalidRequest, ModelNotFound
from continuum.providers.local import tokens
from continuum.providers.local.embedding import HashingEmbedder
from continuum.providers.local.models import plan

MODELS = ("echo", "text")
EMBEDDING_MODELS = ("embed",)
# Work above this many characters leaves the event loop for a thread.
_INLINE_CHARACTERS = 20_000


def _apply_stop(text: str, stops: tuple[str, ...]) -> tuple[str, str | None]:
    """The text up to the first stop sequence in it, and that sequence (None: no stop)."""
    found = [(at, stop) for stop in stops if stop and (at := text.find(stop)) >= 0]
    if not found:
        return text, None
    at, stop = min(found, key=lambda hit: hit[0])
    return text[:at], stop


class LocalProvider:
    """Serves the upstream chat models ``echo`` and ``text`` and the embedding model ``embed``.

    Deployment option ``token_delay`` (seconds) paces the stream like a real model.
    """

    name = "local"

    def __init__(self) -> None:
        self._embedder = HashingEmbedder()

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        model = deployment.upstream_model
        if model in EMBEDDING_MODELS:
            raise ModelNotFound(
                f"'{model}' is an embedding model: it has no chats (use the embeddings API)",
                param="model",
            )
        if model not in MODELS:
            raise ModelNotFound(
                f"the local provider has no model '{model}' (it has {', '.join(MODELS)})"
            )
        delay = float(deployment.options.get("token_delay", 0.0))
        params = request.params
        completion_tokens = 0
        for choice in range(params.n):
            answer = plan(model, request, choice)
            for index, call in enumerate(answer.calls):
                yield ToolCallDelta(
                    index,
                    id=f"call_{request.request_id[-8:]}{choice}{index}",
                    name=call.name,
                    choice=choice,
                )
                for piece in tokens.tokenize(call.arguments):
                    completion_tokens += 1
                    yield ToolCallDelta(index, arguments=piece, choice=choice)
            if answer.calls:
                yield Finish("tool_calls", choice)
                continue
            text, stopped = _apply_stop(answer.text, params.stop)
            pieces = tokens.tokenize(text)
            reason = "stop"
            if params.max_tokens is not None and len(pieces) > params.max_tokens:
                # Cut before the stop sequence was reached: the limit ended it, not the stop.
                pieces, reason, stopped = pieces[: params.max_tokens], "length", None
            for piece in pieces:
                if delay:
                    await asyncio.sleep(delay)
                completion_tokens += 1
                yield TextDelta(piece, choice)
            yield Finish(reason, choice, stopped)
        yield Usage(tokens.prompt_tokens(request), completion_tokens)

    async def count_tokens(self, request: ChatRequest, deployment: Deployment) -> int:
        """The prompt tokens ``request`` will count in its usage (the local tokenizer)."""
        return tokens.prompt_tokens(request)

    async def embed(
        self, inputs: EmbeddingInput, deployment: Deployment, *, dimensions: int | None = None
    ) -> tuple[list[list[float]], int]:
        """Unit vectors of ``inputs`` (``dimensions`` long: truncated, then re-normalised)
        and the prompt tokens they count in the local tokenizer.

        Token arrays come from the client's tokenizer, whose vocabulary this model does
        not have: each id is embedded as a word of its own (``t1212``), so inputs that
        share tokens get close vectors, as texts that share words do. They count one
        token per id.
        """
        model = deployment.upstream_model
        if model not in EMBEDDING_MODELS:
            raise InvalidRequest(
                f"'{model}' is a chat model: it makes no embeddings (the local embedding "
                f"model is '{EMBEDDING_MODELS[0]}', 'local-embed' in the default routes)",
                param="model",
                code=NO_EMBEDDINGS,
            )
        if dimensions is not None and not 1 <= dimensions <= self._embedder.dimensions:
            raise InvalidRequest(
                f"dimensions must be between 1 and {self._embedder.dimensions} for this model",
                param="dimensions",
            )
        if is_token_input(inputs):
            ids = cast("Sequence[Sequence[int]]", inputs)
            texts = [" ".join(f"t{token}" for token in array) for array in ids]
            counted = sum(len(array) for array in ids)
        else:
            texts = list(cast("Sequence[str]", inputs))
            counted = sum(tokens.count(text) for text in texts)
        if sum(len(text) for text in texts) > _INLINE_CHARACTERS:
            vectors = await asyncio.to_thread(self._embed_all, texts, dimensions)
        else:
            vectors = self._embed_all(texts, dimensions)
        return vectors, counted

    def _embed_all(self, texts: Sequence[str], dimensions: int | None) -> list[list[float]]:
        vectors = [self._embedder.embed(text) for text in texts]
        if dimensions is None:
            return vectors
        return [shorten(vector, dimensions) for vector in vectors]

    async def aclose(self) -> None:
        return None

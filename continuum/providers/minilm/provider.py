"""The ``minilm`` provider: embeddings from all-MiniLM-L6-v2 on this machine's CPU."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import cast

from continuum.core.embedding import EmbeddingInput, is_token_input
from continuum.core.events import Event
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest
from continuum.embeddings.vectors import shorten
from continuum.errors import InvalidRequest, ModelNotFound
from continuum.providers.minilm.model import MiniLM, require_installed

MODEL = "all-MiniLM-L6-v2"


class MiniLMProvider:
    """Serves the upstream model ``all-MiniLM-L6-v2`` (embeddings only).

    ``threads``: torch's threads for encoding (torch's setting is per process).

    The model loads on the first request (a few seconds), in a thread of its own; every
    encoding runs in that same thread, one batch at a time, so the event loop never
    waits on torch and two requests never fight over the two cores.
    """

    name = "minilm"

    def __init__(self, threads: int = 1) -> None:
        require_installed()
        self._threads = threads
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="continuum-minilm")
        self._model: MiniLM | None = None
        self._loading = asyncio.Lock()

    async def _loaded(self) -> MiniLM:
        async with self._loading:
            if self._model is None:
                loop = asyncio.get_running_loop()
                self._model = await loop.run_in_executor(self._thread, MiniLM, self._threads)
            return self._model

    async def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]:
        raise ModelNotFound(
            f"'{deployment.upstream_model}' is an embedding model: it has no chats "
            "(use the embeddings API)",
            param="model",
        )
        yield  # pragma: no cover - makes this an async generator like every provider's

    async def embed(
        self, inputs: EmbeddingInput, deployment: Deployment, *, dimensions: int | None = None
    ) -> tuple[list[list[float]], int]:
        """Unit vectors of ``inputs`` (``dimensions``: truncated and re-normalised) and the
        word pieces they count. Texts only: a client's token ids come from another
        tokenizer than this model's word pieces."""
        if is_token_input(inputs):
            raise InvalidRequest(f"{MODEL} takes text input only, not token arrays", param="input")
        texts = cast("Sequence[str]", inputs)
        if deployment.upstream_model != MODEL:
            raise ModelNotFound(
                f"the minilm provider has no model '{deployment.upstream_model}' (it has {MODEL})",
                param="model",
            )
        if dimensions is not None and not 1 <= dimensions <= MiniLM.dimensions:
            raise InvalidRequest(
                f"dimensions must be between 1 and {MiniLM.dimensions} for this model",
                param="dimensions",
            )
        model = await self._loaded()
        loop = asyncio.get_running_loop()
        vectors, tokens = await loop.run_in_executor(self._thread, _run, model, texts)
        if dimensions is not None:
            vectors = [shorten(vector, dimensions) for vector in vectors]
        return vectors, tokens

    async def aclose(self) -> None:
        await asyncio.to_thread(self._thread.shutdown)


def _run(model: MiniLM, texts: Sequence[str]) -> tuple[list[list[float]], int]:
    return model.encode(texts), model.count_tokens(texts)

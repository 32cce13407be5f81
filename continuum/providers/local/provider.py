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
from continuum.providers.local.models import Plan, plan

MODELS = ("echo", "text")
EMBEDDING_MODELS = ("embed",)
# Work above this many characters leaves the event loop for a thread.
_INLINE_CHARACTERS = 20_000
# The most one request may ask of the local chat models, in tokens over all its choices
# (counted as characters, which bound tokens from above, so it is known before the work).
MAX_OUTPUT_TOKENS = 1 << 20
# Characters of an answer cut into tokens at once, and streamed between two turns of the
# event loop (~1 ms): the local models never wait, so a long answer would otherwise hold
# the loop (and every other request) until its end.
TOKENS_AT_ONCE = 4096


def _stop_at(text: str, stops: tuple[str, ...]) -> tuple[int, str | None]:
    """Where the answer ends: before the first stop sequence in it, and that sequence
    (None: no stop sequence in it, it ends at its length)."""
    found = [(at, stop) for stop in stops if stop and (at := text.find(stop)) >= 0]
    if not found:
        return len(text), None
    return min(found, key=lambda hit: hit[0])


def _check_work(plans: list[Plan], request: ChatRequest) -> None:
    """Refuse (400) a request whose answer would exceed ``MAX_OUTPUT_TOKENS``."""
    limit = request.params.max_tokens
    total = 0
    for answer in plans:
        if answer.calls:
            total += sum(len(call.arguments) for call in answer.calls)
        else:
            size = len(answer.text)
            total += size if limit is None else min(size, limit)
    if total > MAX_OUTPUT_TOKENS:
        n = request.params.n
        raise InvalidRequest(
            f"This request asks the local model for up to {total:,} tokens (n={n}); "
            f"a request may ask for at most {MAX_OUTPUT_TOKENS:,}: lower "
            + ("n or max_tokens" if n > 1 else "max_tokens, or send a shorter message"),
            param="n" if n > 1 else "max_tokens",
        )


async def _long_prompt_tokens(request: ChatRequest) -> int:
    """``tokens.prompt_tokens`` of a long prompt, counted in pieces with a turn of the event
    loop between them (a thread would not help: the regular expression holds the GIL)."""
    total = 0
    for part in tokens.prompt_counts(request, _INLINE_CHARACTERS):
        total += part
        await asyncio.sleep(0)
    return total


class LocalProvider:
    """Serves the upstream chat models ``echo`` and ``text`` and the embedding model ``embed``.

    Deployment option ``token_delay`` (seconds) paces the stream like a real model.
    Answers are streamed as they are cut into tokens, never built whole, and the event
    loop gets a turn every ``TOKENS_AT_ONCE`` characters; a request asking for more than
    ``MAX_OUTPUT_TOKENS`` is refused before any work.
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
        plans = [plan(model, request, choice) for choice in range(params.n)]
        _check_work(plans, request)
        completion_tokens = 0
        for choice, answer in enumerate(plans):
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
            text, stopped = answer.text, None
            if params.stop:
                end, stopped = _stop_at(text, params.stop)
                text = text[:end]
            limit = params.max_tokens
            reason = "stop"
            sent = 0
            for part in tokens.token_lists(text, TOKENS_AT_ONCE):
                if limit is not None:
                    room = limit - sent
                    if room < len(part):
                        part, reason = part[: max(room, 0)], "length"
                for piece in part:
                    if delay:
                        await asyncio.sleep(delay)
                    yield TextDelta(piece, choice)
                sent += len(part)
                if reason == "length":
                    break
                if len(text) > TOKENS_AT_ONCE and not delay:
                    await asyncio.sleep(0)  # a long answer: let the loop turn between pieces
            completion_tokens += sent
            if reason == "length":
                stopped = None  # cut before the stop sequence: the limit ended it
            yield Finish(reason, choice, stopped)
        if sum(len(message.text) for message in request.messages) <= _INLINE_CHARACTERS:
            prompt = tokens.prompt_tokens(request)
        else:
            prompt = await _long_prompt_tokens(request)
        yield Usage(prompt, completion_tokens)

    async def count_tokens(self, request: ChatRequest, deployment: Deployment) -> int:
        """The prompt tokens ``request`` will count in its usage (the local tokenizer)."""
        if sum(len(message.text) for message in request.messages) <= _INLINE_CHARACTERS:
            return tokens.prompt_tokens(request)
        return await _long_prompt_tokens(request)

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

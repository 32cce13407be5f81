"""The one interface every provider implements, and the one embedding providers add."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from continuum.core.embedding import EmbeddingInput
from continuum.core.events import Event
from continuum.core.types import ChatRequest

if TYPE_CHECKING:
    from continuum.core.routes import Deployment


class Provider(Protocol):
    """Streams chats for the deployments that name it.

    ``stream_chat`` raises a ``ContinuumError`` for failures before its first event
    (so the router can retry or fall back) and yields an ``ErrorEvent`` for failures
    after it. A provider never knows which door a request came through.
    """

    name: str

    def stream_chat(
        self, request: ChatRequest, deployment: Deployment
    ) -> AsyncGenerator[Event, None]: ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


class TokenCounter(Protocol):
    """The optional ``count_tokens`` method of a provider that knows its models' tokenizer
    (the local provider does): the prompt tokens ``request`` counts on ``deployment``, as
    its usage will say."""

    async def __call__(self, request: ChatRequest, deployment: Deployment) -> int: ...


@runtime_checkable
class Embedder(Protocol):
    """A provider that also makes embeddings (the router checks for it before routing).

    ``inputs`` are texts or token arrays (``continuum.core.embedding``); a provider whose
    model cannot read the client's token ids refuses them with ``InvalidRequest``.
    ``dimensions`` shortens the vectors (text-embedding-3 style) or is refused. Returns
    the vectors in input order and the prompt tokens the model counted.
    """

    async def embed(
        self, inputs: EmbeddingInput, deployment: Deployment, *, dimensions: int | None = None
    ) -> tuple[list[list[float]], int]: ...

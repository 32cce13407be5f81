"""The one interface every provider implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Protocol

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

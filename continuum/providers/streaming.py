"""Relaying an upstream byte stream as events, with the provider contract's error rule.

Before the first event a failure raises (the router may retry or fall back); after
it, the stream ends with a final ``ErrorEvent`` instead of a silent truncation. A
stream that stops before the provider's end marker is such a failure too.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from continuum.core.events import ErrorEvent, Event
from continuum.errors import ContinuumError, UpstreamError


class EventDecoder(Protocol):
    """A sans-IO decoder of one provider's stream: bytes in, events out."""

    @property
    def done(self) -> bool:
        """True once the provider's end-of-answer marker was decoded."""
        ...

    @property
    def failure(self) -> ContinuumError | None:
        """Set when the stream turned out broken; events before the break were returned."""
        ...

    def feed(self, data: bytes) -> list[Event]: ...


async def relay(
    pieces: AsyncGenerator[bytes, None], decoder: EventDecoder, provider: str
) -> AsyncGenerator[Event, None]:
    sent = False
    try:
        async for piece in pieces:
            for event in decoder.feed(piece):
                sent = True
                yield event
            if decoder.failure is not None:
                raise decoder.failure
            if decoder.done:
                return
        raise UpstreamError(f"{provider} upstream ended the stream before it was complete")
    except ContinuumError as error:
        if not sent:
            raise
        yield ErrorEvent(error)
    finally:
        await pieces.aclose()

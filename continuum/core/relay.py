"""Transport-free helpers every streaming door uses: wait for the first event, relay the rest.

    first = await first_event(events)       # failures here raise: the door answers a status
    async for frame in relay(first, events, encoder):
        ...write frame to the transport...

A failure after the first event becomes the encoder's error frame and the stream ends
without the encoder's success terminator (``[DONE]`` for OpenAI SSE), so a cut answer
never looks complete. The upstream is always closed when the relay ends, however it ends.

Both work on any event stream that keeps the pipeline's rule (a failure before the first
event raises, one after it is an ``ErrorEvent``): core chat events, and agent runs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Protocol, TypeVar, cast

from continuum.core.events import ErrorEvent
from continuum.errors import ContinuumError, InternalError, UpstreamError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
E = TypeVar("E")
E_contra = TypeVar("E_contra", contravariant=True)

log = logging.getLogger("continuum.relay")


class Encoder(Protocol[E_contra, T_co]):
    """A dialect's encoder of one stream: events in, frames (of any type the door sends) out."""

    def encode(self, event: E_contra) -> T_co | None:
        """The frame of a text, tool-call, finish or usage event (None: nothing to send)."""
        ...

    def error(self, error: ContinuumError) -> T_co:
        """The frame that ends a failed stream."""
        ...

    def end(self) -> T_co | None:
        """The frame that ends a successful stream, if the dialect has one."""
        ...


async def first_event(events: AsyncGenerator[E, None]) -> E:
    """The first event: a failure before it raises; an empty stream is an upstream error."""
    try:
        return await anext(events)
    except StopAsyncIteration:
        raise UpstreamError("the provider returned an empty stream") from None


async def relay(
    first: E,
    events: AsyncGenerator[E, None],
    encoder: Encoder[E, T],
    request_id: str = "",
) -> AsyncGenerator[T, None]:
    """Encode ``first`` and every later event; end with the error frame or the success frame."""
    encode = encoder.encode
    try:
        failed = isinstance(first, ErrorEvent)
        frame = encoder.error(first.error) if isinstance(first, ErrorEvent) else encode(first)
        if frame is not None:
            yield frame
        async for event in events:
            if event.__class__ is ErrorEvent:
                failed = True
                yield encoder.error(cast(ErrorEvent, event).error)
                continue
            frame = encode(event)
            if frame is not None:
                yield frame
        if not failed:
            frame = encoder.end()
            if frame is not None:
                yield frame
    except ContinuumError as error:
        yield encoder.error(error)
    except Exception:  # the stream's outermost boundary: the client still gets an error frame
        log.exception("request %s: the stream failed", request_id)
        yield encoder.error(InternalError("The server had an error while processing your request."))
    finally:
        await events.aclose()

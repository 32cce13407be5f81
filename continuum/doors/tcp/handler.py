"""What the TCP server asks of the code behind it: a key check and a stream of events."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from continuum.core.events import Event


class TcpHandler(Protocol):
    """The pipeline, as the TCP server sees it.

    The server knows frames, flow control and limits of the wire; everything about a
    chat (keys, permissions, rate limits, routing, usage) happens behind this.
    """

    async def authenticate(self, key: str, client: str | None) -> object:
        """An opaque identity for the connection, from HELLO's key.

        ``client`` is the peer's address. Raises ``continuum.errors.AuthenticationFailed``
        (or any ``ContinuumError``), which the server sends as ERROR on request id 0
        before closing.
        """
        ...

    def stream(self, identity: object, body: bytes) -> AsyncGenerator[Event, None]:
        """The events of one request.

        ``body`` is the request's JSON bytes, exactly a ``POST /v1/chat/completions``
        body (its ``stream`` member is to be ignored: the answer always streams). A
        ``ContinuumError`` raised before the first event, or an ``ErrorEvent`` after it,
        becomes the request's ERROR frame. The server closes the generator (``aclose``)
        when the client cancels or disconnects; closing must cancel the upstream, so a
        generator that relays another one should hold it in ``contextlib.aclosing``.
        """
        ...

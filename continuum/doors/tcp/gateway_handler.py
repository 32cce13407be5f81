"""The TCP door over the pipeline: the ``TcpHandler`` a gateway serves the protocol with.

The server (``server.py``) owns the wire; this is the door's whole business logic, and
it is the HTTP door's: the same keys, permissions, limits, routing and usage ledger
(door ``"tcp"``), the same request parser, so a body gets the same 400/422 either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from continuum.core.events import Event
from continuum.core.json_body import parse_json
from continuum.core.pipeline import Pipeline
from continuum.dialects.openai.request import ChatCompletionRequest

DOOR = "tcp"


@dataclass(frozen=True, slots=True)
class TcpCaller:
    """A connection's identity: the key its HELLO presented and the peer's address.

    The key is checked again for every request (``Pipeline.open``), as over HTTP, so a
    key revoked or expired while its connection is open stops working within the key
    cache's TTL instead of living as long as the connection.
    """

    key: str
    client: str | None


class GatewayHandler:
    """Serves the TCP protocol's requests through a gateway's ``Pipeline``."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    async def authenticate(self, key: str, client: str | None) -> TcpCaller:
        """Check HELLO's key; a bad one raises ``AuthenticationFailed`` (ERROR 401, close)."""
        await self.pipeline.authenticate(key)
        return TcpCaller(key, client)

    async def stream(self, identity: object, body: bytes) -> AsyncGenerator[Event, None]:
        """One request: open it, parse its body as ``POST /v1/chat/completions`` does, and
        relay the pipeline's events. Failures before the first event raise (the server
        sends them as the request's ERROR); ``aclosing`` makes the server's ``aclose`` on
        CANCEL or disconnect close the upstream at once (recorded as 499)."""
        assert isinstance(identity, TcpCaller)
        pipeline = self.pipeline
        ctx = await pipeline.open(
            identity.key, door=DOOR, prefix="chatcmpl-", client=identity.client
        )
        wire = parse_json(body, ChatCompletionRequest)
        wire.stream = True  # answers always stream here, whatever the body says (§6.1)
        request = wire.to_core(ctx.request_id)
        async with contextlib.aclosing(pipeline.chat(ctx, request)) as events:
            async for event in events:
                yield event

"""A streaming response that stops its producer the moment the client goes away.

Starlette's ``StreamingResponse`` notices a disconnect only on its next write; a slow
upstream would keep running until then. Here a watcher task waits on ``receive`` for
``http.disconnect`` and cancels the producer, whose ``finally`` closes the upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(self, body: AsyncIterator[bytes], headers: Mapping[str, str] | None = None):
        # Response.__init__ is skipped on purpose: it would add a Content-Length.
        self.status_code = 200
        self.background = None
        self._body = body
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        for key, value in (headers or {}).items():
            self.raw_headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        producer = asyncio.create_task(self._produce(send))
        watcher = asyncio.create_task(self._watch(receive, producer))
        try:
            await producer
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we ourselves are being cancelled (server shutdown), not the producer
        finally:
            watcher.cancel()
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _produce(self, send: Send) -> None:
        body = self._body
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client vanished mid-write; the watcher or the close below handles it
        finally:
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                await aclose()

    @staticmethod
    async def _watch(receive: Receive, producer: asyncio.Task[None]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                producer.cancel()
                return

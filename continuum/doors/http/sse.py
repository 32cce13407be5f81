"""The SSE writer: frames payloads as events and stops the moment the client goes away.

Starlette's ``StreamingResponse`` notices a disconnect only on its next write; a slow
upstream would keep running until then. Here the request's ``Disconnect`` watcher
cancels the serving task, and the body's ``finally`` closes the upstream.

Chunks are coalesced without delaying any of them: whatever the producer yields while
it can go on without waiting is gathered, and the gathered bytes are written the moment
it is about to wait (for the upstream, a timer, anything). A fast upstream's burst of
chunks thus costs one write instead of one per chunk, which was 80% of the CPU of a
relayed stream, while a slow one still sees each chunk sent as soon as it exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from continuum.doors.http.disconnect import Disconnect

T = TypeVar("T")
# Gathered bytes are written at this size even if the producer could go on.
FLUSH_BYTES = 64 * 1024
# Each payload as one ``data:`` event: the framing the SSE writer adds (see EventStreamResponse).
DATA = (b"data: ", b"\n\n")


def _drive(step: Generator[Any, Any, T], pending: Any) -> Generator[Any, Any, T]:
    """Finish awaiting ``step``, which has just yielded ``pending`` (as ``yield from`` would)."""
    while True:
        try:
            value = yield pending
        except GeneratorExit:
            step.close()
            raise
        except BaseException as error:  # noqa: BLE001 - delegated, as yield from does
            try:
                pending = step.throw(error)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        else:
            try:
                pending = step.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


class Coalesce:
    """Awaitable relaying ``body`` through ``write``, one write per burst of chunks.

    Each ``anext(body)`` is first run synchronously. When it finishes there, its chunk
    was ready and is gathered. When it yields instead, the producer is about to wait:
    the gathered bytes are written first, then the yielded future is handed to the
    task as if the ``anext`` had been awaited directly. Awaiting returns the bytes still
    gathered when ``body`` ends, for the caller's final write. One generator serves
    the whole stream, so a ready chunk costs no awaitable of its own.
    """

    __slots__ = ("_body", "_framing", "_gathered", "_limit", "_write")

    def __init__(
        self,
        body: AsyncIterator[bytes],
        write: Callable[[bytes], Awaitable[None]],
        limit: int = FLUSH_BYTES,
        framing: tuple[bytes, bytes] | None = None,
    ):
        self._body = body
        self._write = write
        self._limit = limit
        self._framing = framing
        self._gathered: list[bytes] = []

    def _flush(self) -> Generator[Any, Any, None]:
        gathered = self._gathered
        data = gathered[0] if len(gathered) == 1 else b"".join(gathered)
        gathered.clear()
        yield from self._write(data).__await__()

    def _wait(self, step: Generator[Any, Any, bytes], pending: Any) -> Generator[Any, Any, bytes]:
        if self._gathered:
            try:
                yield from self._flush()
            except BaseException as error:  # noqa: BLE001 - cancelled mid-write: the step gets it
                try:
                    pending = step.throw(error)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
        return (yield from _drive(step, pending))

    def __await__(self) -> Generator[Any, Any, bytes]:
        body, gathered, limit = self._body, self._gathered, self._limit
        framed = self._framing is not None
        prefix, suffix = self._framing or (b"", b"")
        size = 0
        while True:
            step = body.__anext__().__await__()
            try:
                try:
                    pending = step.send(None)
                except StopIteration as done:
                    chunk = done.value
                else:
                    size = 0  # _wait writes whatever was gathered
                    chunk = yield from self._wait(step, pending)
            except StopAsyncIteration:
                break
            if framed:
                gathered.append(prefix)
                gathered.append(chunk)
                gathered.append(suffix)
            else:
                gathered.append(chunk)
            size += len(chunk)
            if size >= limit:
                size = 0
                yield from self._flush()
        tail = b"".join(gathered)
        gathered.clear()
        return tail


class EventStreamResponse(Response):
    """``text/event-stream`` from an async iterator, stopped the moment the client leaves.

    With ``framing`` (the default, ``DATA``) each item is a payload that the writer
    frames as one ``data:`` event, in the same join that coalesces a burst of them; with
    ``framing=None`` items are whole frames (see
    ``continuum.dialects.streams.events.event_frame``). The body runs in the
    serving task, under the request's ``Disconnect`` watcher (a new one if none is given).
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncIterator[bytes],
        headers: Mapping[str, str] | None = None,
        *,
        framing: tuple[bytes, bytes] | None = DATA,
        watch: Disconnect | None = None,
    ):
        # Response.__init__ is skipped on purpose: it would add a Content-Length.
        self.status_code = 200
        self.background = None
        self._body = body
        self._framing = framing
        self._watch = watch
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        for key, value in (headers or {}).items():
            self.raw_headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = self._watch or Disconnect(receive)
        body = self._body

        async def write(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            tail = await Coalesce(body, write, framing=self._framing)
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except asyncio.CancelledError:
            if not watch.absorb():
                raise  # we ourselves are being cancelled (server shutdown), not by the client
        except OSError:
            pass  # the client vanished mid-write
        finally:
            watch.stop()
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                await aclose()

"""Cancelling the work of a request the moment its client goes away.

Uvicorn does not cancel an ASGI handler when its client disconnects: a non-streaming
request would run to completion upstream, and a stream would notice only at its next
write. ``Disconnect`` watches ``receive`` for ``http.disconnect`` (after the body has
been read) and cancels the task serving the request, so the pipeline's generators close
their upstreams at once and record the request as 499.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import Receive

from continuum.errors import ClientClosed

# The watcher starts this long after the request: most answers are done by then and never
# pay for a task, while a client that leaves is still noticed well within 100 ms.
START_AFTER = 0.02

T = TypeVar("T")


class Disconnect:
    """Watches one request's connection; cancels the serving task when the client leaves.

    Start it after the body is read (it consumes ``receive``). After a ``CancelledError``
    call ``absorb``: True means the cancellation was this watcher's (and is undone, so
    the task can clean up), False that someone else is cancelling the task.
    """

    __slots__ = ("_receive", "_task", "_timer", "_watcher", "gone")

    def __init__(self, receive: Receive, start_after: float = START_AFTER):
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._receive = receive
        self.gone = False
        self._watcher: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(start_after, self._start)

    def _start(self) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch(self._receive))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                self._task.cancel()
                return

    def stop(self) -> None:
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()

    def absorb(self) -> bool:
        self.stop()
        if self.gone and self._task.cancelling():
            self._task.uncancel()
            return True
        return False

    async def guard(self, work: Awaitable[T]) -> T:
        """Await the first event or the whole answer while watching: a client that leaves
        raises ``ClientClosed`` (recorded as 499); any other way out stops the watch."""
        try:
            return await work
        except asyncio.CancelledError:
            if self.absorb():
                raise self.closed() from None
            raise
        except BaseException:
            self.stop()
            raise

    def closed(self) -> ClientClosed:
        """The error a door raises once ``absorb`` said the client left."""
        return ClientClosed("The client closed the connection before the answer was complete.")


async def watched(receive: Receive, work: Awaitable[T]) -> T:
    """Await ``work`` (a whole answer, a first event) under a ``Disconnect`` watcher:
    ``ClientClosed`` if the client left meanwhile, its work cancelled at once."""
    watch = Disconnect(receive)
    try:
        return await watch.guard(work)
    finally:
        watch.stop()

"""The producer's side of a session: heartbeats, appends, and an end that cannot be forgotten.

    if await store.try_start(session_id, replica_id):
        async with Producer(store, session_id, replica_id) as producer:
            async for event in events:
                if isinstance(event, TextDelta) and not await producer.append(event.text):
                    break  # the session is no longer ours (reaped, expired): stop
            await producer.complete(usage.prompt_tokens, usage.completion_tokens)

Leaving the block without an end (an exception, a cancellation, a ``break``) ends the
session with ``Failed``, so readers never wait on a generation nobody runs. If this
process dies instead, its heartbeats stop and readers reap the session within
``timings.lease`` plus ``timings.check`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from continuum.errors import ContinuumError
from continuum.sessions.base import SessionStore

log = logging.getLogger("continuum.sessions")


class Producer:
    """Runs the generation side of one session on the replica that won ``try_start``."""

    def __init__(self, store: SessionStore, session_id: str, producer: str):
        self.store = store
        self.session_id = session_id
        self.producer = producer
        self.ended = False
        self.lost = asyncio.Event()  # set when the session is no longer ours to produce
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Producer:
        self._task = asyncio.create_task(self._beat(), name=f"heartbeat:{self.session_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.ended or self.lost.is_set():
            return
        if isinstance(exc, ContinuumError):
            await self.fail(exc.message, exc.code or "error")
        elif isinstance(exc, asyncio.CancelledError):
            await self.fail("the generation was stopped", "producer_stopped")
        elif exc is not None:
            await self.fail("the generation failed", "internal_error")
        else:
            await self.fail("the generation ended without a result", "incomplete")

    async def _beat(self) -> None:
        interval = self.store.timings.lease / 3
        while True:
            await asyncio.sleep(interval)
            try:
                alive = await self.store.heartbeat(self.session_id, self.producer)
            except ContinuumError as error:  # state backend down: try again next beat
                log.warning("session %s: heartbeat failed: %s", self.session_id, error.message)
                continue
            if not alive:
                self.lost.set()
                return

    async def append(self, text: str) -> bool:
        """Append a piece; ``False`` means stop: the session is no longer ours."""
        if self.lost.is_set() or self.ended:
            return False
        if await self.store.append(self.session_id, text) is None:
            self.lost.set()
            return False
        return True

    async def complete(self, input_tokens: int, output_tokens: int) -> bool:
        """End with ``Done``; ``True`` if this call ended the session."""
        self.ended = True
        return await self.store.complete(self.session_id, input_tokens, output_tokens)

    async def fail(
        self, message: str, code: str, input_tokens: int = 0, output_tokens: int = 0
    ) -> bool:
        """End with ``Failed``; ``True`` if this call ended the session."""
        self.ended = True
        return await self.store.fail(self.session_id, message, code, input_tokens, output_tokens)

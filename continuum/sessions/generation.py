"""Generations: a session's answer produced into its buffer, outliving whoever started it.

    generations = Generations(store, wake=worker.wake)          # one per gateway
    started = await generations.begin(session_id, lambda: pipeline.chat(ctx, request))

``begin`` claims the session (``try_start``: one replica across all of them wins) and runs
the event stream in a background task owned by this object, not by the request that
asked: a client that leaves never cancels a generation. The stream is opened only by the
winner, so a loser sends nothing upstream and nothing is charged twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable

from continuum.core.events import ErrorEvent, Event, TextDelta, Usage
from continuum.errors import ContinuumError
from continuum.sessions.base import SessionStore
from continuum.sessions.producer import Producer

log = logging.getLogger("continuum.sessions")


async def produce(producer: Producer, events: AsyncIterator[Event]) -> None:
    """Append every piece of text to the buffer, then end it with the usage (or the error).

    A failure before the first event raises from ``events``; ``Producer`` ends the session
    with it. Stops early, closing the upstream, when the session is no longer ours."""
    usage: Usage | None = None
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                if event.text and not await producer.append(event.text):
                    return  # reaped, expired or gone: nobody can read more
            elif isinstance(event, Usage):
                usage = event
            elif isinstance(event, ErrorEvent):
                error = event.error
                await producer.fail(error.message, error.code or "error", *_tokens(usage))
                return
        await producer.complete(*_tokens(usage))
    finally:
        closing = getattr(events, "aclose", None)
        if closing is not None:
            await closing()


def _nothing() -> None:
    return None


def _tokens(usage: Usage | None) -> tuple[int, int]:
    return (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)


class Generations:
    """The generations this replica runs, as background tasks (``begin``, ``aclose``)."""

    def __init__(
        self,
        store: SessionStore,
        *,
        replica: str | None = None,
        wake: Callable[[], None] | None = None,
        opened: Callable[[], None] | None = None,
        closed: Callable[[], None] | None = None,
    ):
        self.store = store
        self.replica = replica or f"replica-{uuid.uuid4().hex[:12]}"
        self._wake = wake  # the callback worker: a delivery may be due now
        # The stream_sessions gauge: generations running on this replica.
        self._opened = opened or _nothing
        self._closed = closed or _nothing
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    async def begin(self, session_id: str, open_events: Callable[[], AsyncIterator[Event]]) -> bool:
        """Start the session's generation here if nobody has; ``False`` if it was already
        started (here or on another replica) or is no longer pending."""
        if not await self.store.try_start(session_id, self.replica):
            return False
        task = asyncio.create_task(self._run(session_id, open_events), name=f"gen:{session_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, session_id: str, open_events: Callable[[], AsyncIterator[Event]]) -> None:
        self._opened()
        try:
            async with Producer(self.store, session_id, self.replica) as producer:
                await produce(producer, open_events())
        except ContinuumError as error:  # recorded in the session by Producer
            log.info("session %s failed: %s", session_id, error.code or error.message)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: the session ended Failed; keep the server serving
            log.exception("session %s: the generation failed", session_id)
        finally:
            self._closed()
            if self._wake is not None:
                self._wake()

    async def aclose(self) -> None:
        """Stop every generation (each ends its session as failed: readers learn it)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

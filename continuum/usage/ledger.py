"""The usage ledger: records are queued in memory and written in batches, off the hot path.

``record`` only appends to a list (a request never waits for the database). A writer
task flushes every ``interval`` seconds, or sooner once ``batch`` records wait. A
clean shutdown flushes everything; a hard kill loses at most what was queued since
the last flush (measured by bench/ledger_kill.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from continuum.core.ports import UsageRecord
from continuum.errors import StateUnavailable
from continuum.usage.store import UsageStore

log = logging.getLogger("continuum.usage")
# If the database is down, keep this many records for the next try, then drop the oldest.
MAX_BACKLOG = 100_000


class BatchingLedger:
    """The usage ledger: ``record`` queues, a writer task inserts in batches.

    A database that cannot be written keeps the records for the next try (up to
    ``MAX_BACKLOG``) and the gateway keeps serving; ``write_failures`` and ``dropped``
    count what went wrong, ``backlog`` what waits (for metrics).
    """

    def __init__(self, store: UsageStore, *, interval: float = 0.5, batch: int = 500):
        self.store = store
        self.write_failures = 0
        self.dropped = 0
        self._interval = interval
        self._batch = batch
        self._queue: list[UsageRecord] = []
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def record(self, entry: UsageRecord) -> None:
        queue = self._queue
        queue.append(entry)
        if len(queue) >= self._batch:
            self._full.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-ledger")

    async def flush(self) -> None:
        """Write everything queued so far."""
        if not self._queue:
            return
        pending, self._queue = self._queue, []
        try:
            await self.store.insert(pending)
        except StateUnavailable as error:  # keep the records, try again later
            self.write_failures += 1
            log.error("usage ledger: %d records not written (%s); will retry", len(pending), error)
            kept = pending + self._queue
            self.dropped += max(0, len(kept) - MAX_BACKLOG)
            self._queue = kept[-MAX_BACKLOG:]

    @property
    def backlog(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._interval)
            self._full.clear()
            await self.flush()

    async def close(self) -> None:
        """Stop the writer and flush what is left (a clean shutdown loses nothing).

        The writer is woken, not cancelled: cancelling it mid-insert would lose the batch.
        """
        self._closing = True
        self._full.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

"""The usage ledger: records are queued in memory and written in batches, off the hot path.

``record`` appends to a list and, with a journal, writes one line to a local file (a
few microseconds; see ``journal.py``). A writer task flushes every ``interval``
seconds, or sooner once ``batch`` records wait. A clean shutdown flushes everything;
after a hard kill the next start writes the journal's records again, each once.

One record the database refuses never blocks the others: a refused batch is split in
halves until the record at fault is alone, and that one is written to the dead-letter
file, counted and logged, while the rest go in. A database that is down (not refusing
data) keeps everything for the next try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from pathlib import Path

import orjson

from continuum.core.ports import UsageRecord
from continuum.errors import StateUnavailable
from continuum.usage.fit import COLUMNS
from continuum.usage.journal import Journal, Segment
from continuum.usage.store import REFUSED, UsageStore

log = logging.getLogger("continuum.usage")
# If the database is down, keep this many records for the next try, then drop the oldest
# (a journal keeps them on disk for the next start).
MAX_BACKLOG = 100_000
REPLAY_BATCH = 500


class BatchingLedger:
    """The usage ledger: ``record`` queues (and journals), a writer task inserts in batches.

    Counters, cumulative, for metrics (``Metrics.watch_ledger``) and ``/metrics``:
    ``write_failures`` batches the database did not take (it was unavailable);
    ``dropped`` records given up in memory after ``MAX_BACKLOG`` (a journal still holds
    them for the next start); ``rejected`` records the database refused even cut to fit
    (kept in ``dead_letter``); ``fitted`` records cut or cleaned to fit their columns;
    ``journal_failures`` records that could not be journaled; ``replayed`` records
    written again from the journals of processes that died. ``backlog``: queued now.
    """

    def __init__(
        self,
        store: UsageStore,
        *,
        interval: float = 0.5,
        batch: int = 500,
        journal: Journal | None = None,
        dead_letter: Path | None = None,
    ):
        self.store = store
        self.write_failures = 0
        self.dropped = 0
        self.rejected = 0
        self.replayed = 0
        self._interval = interval
        self._batch = batch
        self._journal = journal
        self._dead_letter = dead_letter
        self.origin = journal.origin if journal is not None else secrets.token_hex(8)
        self._seq = 0
        self._queue: list[UsageRecord] = []
        self._retired: list[Segment] = []  # journal segments whose records are not all written
        self._full = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def record(self, entry: UsageRecord) -> None:
        self._seq += 1
        entry.seq = self._seq
        if self._journal is not None:
            self._journal.append(entry)
        queue = self._queue
        queue.append(entry)
        if len(queue) >= self._batch:
            self._full.set()

    @property
    def fitted(self) -> int:
        return self.store.fitted

    @property
    def journal_failures(self) -> int:
        return self._journal.failures if self._journal is not None else 0

    @property
    def backlog(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        """Write the records of dead processes' journals, then start the writer."""
        await self.replay()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-ledger")

    async def replay(self) -> int:
        """Write again the journaled records of processes that died (each at most once)."""
        if self._journal is None:
            return 0
        written = 0
        for segment, records in self._journal.orphans():
            try:
                for start in range(0, len(records), REPLAY_BATCH):
                    kept = await self._write(records[start : start + REPLAY_BATCH], segment.origin)
                    if kept:
                        raise StateUnavailable("the usage ledger is unavailable")
            except StateUnavailable:
                segment.close(remove=False)  # the next start tries again
                log.error(
                    "usage journal: %s not replayed; the database is unavailable", segment.path
                )
                break
            written += len(records)
            self._journal.release([segment])
        if written:
            log.info("usage journal: %d records of an earlier run written", written)
        self.replayed += written
        return written

    async def flush(self) -> None:
        """Write everything queued so far (one flush at a time: a journal segment is
        released only once every record of it is written)."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        if not self._queue:
            return
        pending, self._queue = self._queue, []
        self._rotate()
        kept = await self._write(pending, self.origin)
        if not kept:
            # Every record of the retired segments was in ``pending`` or written before.
            if self._journal is not None:
                self._journal.release(self._retired)
            return
        kept += self._queue
        excess = len(kept) - MAX_BACKLOG
        if excess > 0:
            self.dropped += excess
            kept = kept[excess:]
            if self._journal is not None:
                self._rotate()
                self._journal.release(self._retired, keep=True)  # replayed at the next start
        self._queue = kept

    def _rotate(self) -> None:
        if self._journal is not None:
            self._retired += self._journal.rotate()

    async def _write(self, records: list[UsageRecord], origin: str) -> list[UsageRecord]:
        """Insert ``records``; returns those to keep for a later try (the database is
        unavailable). Records it refuses are isolated by halving and set aside."""
        try:
            await self.store.insert(records, origin)
            return []
        except StateUnavailable as error:
            if error.code != REFUSED:
                self.write_failures += 1
                log.error(
                    "usage ledger: %d records not written (%s); will retry", len(records), error
                )
                return records
            if len(records) == 1:
                self._reject(records[0], error)
                return []
        middle = len(records) // 2
        kept = await self._write(records[:middle], origin)
        if kept:  # unavailable now: keep the untried half too
            return kept + records[middle:]
        return await self._write(records[middle:], origin)

    def _reject(self, record: UsageRecord, error: StateUnavailable) -> None:
        self.rejected += 1
        log.error(
            "usage ledger: the database refused record %s (%s); kept in %s",
            record.request_id[:64],
            error.__cause__.__class__.__name__,
            self._dead_letter or "no dead-letter file",
        )
        if self._dead_letter is None:
            return
        values = {name: getattr(record, name) for name in COLUMNS}
        line = orjson.dumps(values, default=str) + b"\n"
        try:
            fd = os.open(self._dead_letter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as failure:
            log.error("usage ledger: cannot write the dead-letter file (%s)", failure)

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
        if self._journal is not None:
            # Segments still holding unwritten records stay for the next start.
            self._journal.release(self._retired, keep=True)
            self._journal.close()

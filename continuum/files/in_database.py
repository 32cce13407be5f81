"""Files kept whole in the SQL database: what replicas sharing PostgreSQL use.

The upload's row is inserted first as ``uploading`` (never listed), its contents follow
as ordered chunk rows, each in a short transaction, and one final update marks it
``processed``: from that commit on every replica lists it. Short transactions keep an
upload from holding a pooled connection for as long as the client takes to send it.
An upload that dies leaves an ``uploading`` row and some chunks; ``start`` removes those
that made no progress for ``stale_after`` seconds (an upload in progress on another
replica touches its row every ``TOUCH_EVERY`` seconds, so it is left alone). See
docs/decisions.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from sqlalchemy import insert, select, update

from continuum.errors import PayloadTooLarge, StateUnavailable
from continuum.files.catalog import WHAT, Catalog
from continuum.files.objects import (
    FileDeleted,
    FileObject,
    FilePage,
    Order,
    check_listing,
    check_upload,
    new_file_id,
    no_such_file,
)
from continuum.store.database import Database, state_errors
from continuum.store.tables import file_chunks, files

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
TOUCH_EVERY = 30.0  # seconds between an upload's progress marks; far below stale_after


class DatabaseFileStore:
    """Contents as ``continuum_file_chunks`` rows of ``chunk_bytes`` beside their metadata."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], float] = time.time,
        chunk_bytes: int = CHUNK_BYTES,
        stale_after: float = 3600.0,
    ):
        self._catalog = Catalog(database, clock)
        self._db = database
        self._clock = clock
        self._chunk_bytes = chunk_bytes
        self._stale_after = stale_after
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Remove expired files and uploads whose writer died."""
        dead = await self._catalog.stale_uploads(self._clock() - self._stale_after)
        if dead:
            log.info("removing %d unfinished uploads", len(dead))
        await self._catalog.forget(dead + await self._catalog.expired())

    async def put(
        self,
        owner: str,
        filename: str,
        purpose: str,
        chunks: AsyncIterable[bytes],
        max_bytes: int,
        *,
        expires_after: int | None = None,
    ) -> FileObject:
        check_upload(filename, purpose, expires_after)
        file_id = new_file_id()
        row = self._catalog.new_row(file_id, owner, filename, purpose, expires_after)
        with state_errors(WHAT):
            async with self._db.engine.begin() as conn:
                await self._catalog.insert(conn, row)
        finished = False
        try:
            size = await self._receive(file_id, chunks, max_bytes)
            with state_errors(WHAT):
                async with self._db.engine.begin() as conn:
                    whole = await self._catalog.finish(conn, row, size)
            finished = True
            return whole
        finally:
            if not finished:
                await self._discard(file_id)

    async def _receive(self, file_id: str, chunks: AsyncIterable[bytes], max_bytes: int) -> int:
        size = seq = 0
        buffer = bytearray()
        touched = self._clock()
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"the file is larger than the limit of {max_bytes} bytes")
            buffer += chunk
            while len(buffer) >= self._chunk_bytes:
                now = self._clock()
                touch = now - touched >= TOUCH_EVERY
                await self._append(file_id, seq, bytes(buffer[: self._chunk_bytes]), touch)
                touched = now if touch else touched
                del buffer[: self._chunk_bytes]
                seq += 1
        if buffer:
            await self._append(file_id, seq, bytes(buffer), touch=False)
        return size

    async def _append(self, file_id: str, seq: int, data: bytes, touch: bool) -> None:
        with state_errors(WHAT):
            async with self._db.engine.begin() as conn:
                await conn.execute(insert(file_chunks).values(file_id=file_id, seq=seq, data=data))
                if touch:  # an upload in progress, for sweeps on other replicas to leave alone
                    await conn.execute(
                        update(files).where(files.c.id == file_id).values(touched=self._clock())
                    )

    async def _discard(self, file_id: str) -> None:
        # Runs to its end even if the caller is cancelled meanwhile: "nothing stored".
        task = asyncio.create_task(self._forget(file_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)

    async def _forget(self, file_id: str) -> None:
        try:
            await self._catalog.forget([file_id])
        except StateUnavailable as error:
            # The database is unreachable: the row stays "uploading", never listed, and
            # the sweep at a later start removes it.
            log.warning("could not remove the failed upload %s: %s", file_id, error)

    async def list(
        self,
        owner: str,
        purpose: str | None = None,
        limit: int = 10_000,
        after: str | None = None,
        order: Order = "desc",
    ) -> FilePage:
        check_listing(limit, order)
        return await self._catalog.page(owner, purpose, limit, after, order)

    async def get(self, owner: str, file_id: str) -> FileObject:
        return await self._catalog.get(owner, file_id)

    async def content(self, owner: str, file_id: str) -> AsyncIterator[bytes]:
        whole = await self._catalog.get(owner, file_id)
        return self._chunks(file_id, whole.bytes)

    async def _chunks(self, file_id: str, size: int) -> AsyncIterator[bytes]:
        # One short query per chunk: a slow reader holds no pooled connection.
        sent = seq = 0
        while sent < size:
            with state_errors(WHAT):
                async with self._db.engine.connect() as conn:
                    data: Any = await conn.scalar(
                        select(file_chunks.c.data).where(
                            file_chunks.c.file_id == file_id, file_chunks.c.seq == seq
                        )
                    )
            if data is None:
                raise no_such_file(file_id)  # deleted while being read
            sent += len(data)
            seq += 1
            yield bytes(data)

    async def delete(self, owner: str, file_id: str) -> FileDeleted:
        await self._catalog.remove(owner, file_id)
        return FileDeleted(file_id)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks)

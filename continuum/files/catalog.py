"""The files' metadata rows in SQL, shared by both file stores.

Only rows with status ``processed`` exist for callers; ``uploading`` rows are the
database store's uploads in progress. Expired files are treated as gone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from continuum.errors import ContinuumError, InvalidRequest
from continuum.files.objects import FileObject, FilePage, Order, no_such_file
from continuum.store.database import Database, state_errors
from continuum.store.tables import file_chunks, files

PROCESSED, UPLOADING = "processed", "uploading"
WHAT = "the file store"


def _object(row: Row[Any]) -> FileObject:
    return _object_of(row._asdict())


def _object_of(row: Mapping[str, Any]) -> FileObject:
    return FileObject(
        id=row["id"],
        bytes=int(row["bytes"]),
        created_at=int(row["created"]),
        filename=row["filename"],
        purpose=row["purpose"],
        expires_at=None if row["expires"] is None else int(row["expires"]),
    )


class Catalog:
    """Reads and writes ``continuum_files`` rows; ``clock`` gives unix time (tests inject it)."""

    def __init__(self, database: Database, clock: Callable[[], float]):
        self.db = database
        self.clock = clock

    def _visible(self, owner: str) -> ColumnElement[bool]:
        return and_(
            files.c.owner == owner,
            files.c.status == PROCESSED,
            or_(files.c.expires.is_(None), files.c.expires > self.clock()),
        )

    def new_row(
        self, file_id: str, owner: str, filename: str, purpose: str, expires_after: int | None
    ) -> dict[str, Any]:
        now = self.clock()
        return {
            "id": file_id,
            "owner": owner,
            "filename": filename,
            "purpose": purpose,
            "bytes": 0,
            "created": now,
            "expires": None if expires_after is None else now + expires_after,
            "status": UPLOADING,
            "touched": now,
        }

    async def insert(self, conn: AsyncConnection, row: dict[str, Any]) -> None:
        await conn.execute(insert(files).values(**row))

    def completed(self, row: dict[str, Any], size: int) -> tuple[dict[str, Any], FileObject]:
        """The row of a whole upload of ``size`` bytes, and its File object. Created: now."""
        now = self.clock()
        expires = row["expires"]
        if expires is not None:
            expires = now + (expires - row["created"])
        done = row | {
            "bytes": size,
            "created": now,
            "touched": now,
            "expires": expires,
            "status": PROCESSED,
        }
        return done, _object_of(done)

    async def finish(self, conn: AsyncConnection, row: dict[str, Any], size: int) -> FileObject:
        """Mark an upload whole: from this commit on it is listed."""
        done, whole = self.completed(row, size)
        marked = await conn.execute(
            update(files).where(files.c.id == row["id"], files.c.status == UPLOADING).values(**done)
        )
        if marked.rowcount != 1:
            # A sweep took it for a dead upload (its replica's clock, or stale_after, is off).
            raise ContinuumError(
                f"the upload {row['id']} was removed before it was complete; send it again"
            )
        return whole

    async def get(self, owner: str, file_id: str) -> FileObject:
        with state_errors(WHAT):
            async with self.db.engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(files).where(files.c.id == file_id, self._visible(owner))
                    )
                ).first()
        if row is None:
            raise no_such_file(file_id)
        return _object(row)

    async def page(
        self, owner: str, purpose: str | None, limit: int, after: str | None, order: Order
    ) -> FilePage:
        query = select(files).where(self._visible(owner))
        if purpose is not None:
            query = query.where(files.c.purpose == purpose)
        if after is not None:
            query = query.where(await self._beyond(owner, after, order))
        # Creation time, then id: a total order, so pages never skip or repeat a file.
        if order == "desc":
            query = query.order_by(files.c.created.desc(), files.c.id.desc())
        else:
            query = query.order_by(files.c.created.asc(), files.c.id.asc())
        with state_errors(WHAT):
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(query.limit(limit + 1))).all()
        return FilePage([_object(row) for row in rows[:limit]], has_more=len(rows) > limit)

    async def _beyond(self, owner: str, after: str, order: Order) -> ColumnElement[bool]:
        """The files past ``after`` in the listing's order."""
        with state_errors(WHAT):
            async with self.db.engine.connect() as conn:
                anchor = (
                    await conn.execute(
                        select(files.c.created, files.c.id).where(
                            files.c.id == after, self._visible(owner)
                        )
                    )
                ).first()
        if anchor is None:
            raise InvalidRequest(f"after: no file '{after}' to page from", param="after")
        created, anchor_id = anchor
        if order == "desc":
            return or_(
                files.c.created < created,
                and_(files.c.created == created, files.c.id < anchor_id),
            )
        return or_(
            files.c.created > created,
            and_(files.c.created == created, files.c.id > anchor_id),
        )

    async def remove(self, owner: str, file_id: str) -> None:
        """Delete a visible file's row (and any chunks it has in the database) in one commit."""
        with state_errors(WHAT):
            async with self.db.engine.begin() as conn:
                gone = await conn.execute(
                    delete(files).where(files.c.id == file_id, self._visible(owner))
                )
                if gone.rowcount != 1:
                    raise no_such_file(file_id)
                await conn.execute(delete(file_chunks).where(file_chunks.c.file_id == file_id))

    async def forget(self, file_ids: Sequence[str]) -> None:
        """Drop rows and chunks whatever their state (failed uploads, expired files)."""
        if not file_ids:
            return
        with state_errors(WHAT):
            async with self.db.engine.begin() as conn:
                await conn.execute(delete(file_chunks).where(file_chunks.c.file_id.in_(file_ids)))
                await conn.execute(delete(files).where(files.c.id.in_(file_ids)))

    async def existing(self, file_ids: Sequence[str]) -> set[str]:
        """Which of ``file_ids`` have a row (any status)."""
        if not file_ids:
            return set()
        with state_errors(WHAT):
            async with self.db.engine.connect() as conn:
                rows = await conn.execute(select(files.c.id).where(files.c.id.in_(file_ids)))
                return {row.id for row in rows}

    async def expired(self) -> list[str]:
        with state_errors(WHAT):
            async with self.db.engine.connect() as conn:
                rows = await conn.execute(
                    select(files.c.id).where(
                        files.c.expires.is_not(None), files.c.expires <= self.clock()
                    )
                )
                return [row.id for row in rows]

    async def stale_uploads(self, older_than: float) -> list[str]:
        """Uploads that made no progress since ``older_than``: their writer died."""
        with state_errors(WHAT):
            async with self.db.engine.connect() as conn:
                rows = await conn.execute(
                    select(files.c.id).where(
                        files.c.status == UPLOADING, files.c.touched < older_than
                    )
                )
                return [row.id for row in rows]

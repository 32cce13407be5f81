"""Files in a local directory, their metadata in the SQL database: the embedded default.

An upload is written to ``tmp/<id>.part``, fsynced, renamed to ``<id>`` and the directory
fsynced; only then is its row committed. So a listed file always has whole, durable
contents, and a crash leaves at most a temporary or unlisted file, which ``start``
removes. Several processes may share the directory (``--workers``): each upload holds
an exclusive ``flock`` on its file until its row is committed, and the sweep skips
locked files, so it never removes another process's upload in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from continuum.errors import PayloadTooLarge, StateUnavailable
from continuum.files.catalog import WHAT, Catalog
from continuum.files.handles import Handle, fsync_directory, write_all
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
from continuum.store.private import private_dir

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

WRITE_SIZE = 1 << 20  # received bytes are gathered into writes of this size
READ_SIZE = 256 * 1024


class DirectoryFileStore:
    """Contents under ``root`` (one file per upload), metadata in ``database``."""

    def __init__(
        self,
        database: Database,
        root: Path,
        *,
        clock: Callable[[], float] = time.time,
        threads: int = 8,
    ):
        self.root = root
        self._tmp = root / "tmp"
        self._lock_path = root / ".lock"
        self._catalog = Catalog(database, clock)
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="continuum-files")
        self._tasks: set[asyncio.Task[FileObject]] = set()

    async def start(self) -> None:
        """Create the directories and remove what dead uploads and expired files left."""
        private_dir(self._tmp)  # and the root above it: files are private
        self._lock_path.touch(mode=0o600, exist_ok=True)
        for file_id in await self._catalog.expired():
            await self._catalog.forget([file_id])
            await self._blocking(_unlink, self.root / file_id)
        await self._blocking(self._sweep_temporary)
        await self._sweep_unlisted()

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
        temporary = self._tmp / f"{file_id}.part"
        handle = await self._open(temporary, self._create_locked, created=True)
        try:
            size = await _receive(handle, chunks, max_bytes)
        except BaseException:
            handle.close(then=lambda: _unlink(temporary))
            raise
        # The bytes are all here: finish even if the caller goes away meanwhile, so the
        # upload ends either listed or removed, never half-done.
        commit = asyncio.create_task(self._commit(handle, temporary, row, size))
        self._tasks.add(commit)
        commit.add_done_callback(self._tasks.discard)
        return await asyncio.shield(commit)

    async def _commit(
        self, handle: Handle, temporary: Path, row: dict[str, Any], size: int
    ) -> FileObject:
        final = self.root / str(row["id"])
        committed = False
        try:
            await handle.run(os.fsync, handle.fd)
            await handle.run(os.rename, temporary, final)
            await handle.run(fsync_directory, self.root)
            done, whole = self._catalog.completed(row, size)
            with state_errors(WHAT):
                async with self._catalog.db.engine.begin() as conn:
                    await self._catalog.insert(conn, done)
            committed = True
            return whole
        finally:
            # The lock is held until the row is committed (see the module docstring).
            handle.close(then=None if committed else lambda: _unlink(temporary))
            if not committed:
                await self._drop_if_unlisted(final)

    async def _drop_if_unlisted(self, final: Path) -> None:
        # The commit may have failed after the server applied it; only a row that is
        # certainly absent lets the contents go (else the next sweep decides).
        try:
            listed = await self._catalog.existing([final.name])
        except StateUnavailable:
            return
        if not listed:
            await self._blocking(_unlink, final)

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
        await self._catalog.get(owner, file_id)
        return self._read(file_id)

    async def _read(self, file_id: str) -> AsyncIterator[bytes]:
        # Opened on the first read, so a stream never iterated holds no descriptor.
        try:
            handle = await self._open(self.root / file_id, _open_for_reading, created=False)
        except FileNotFoundError:
            raise no_such_file(file_id) from None  # deleted since it was looked up
        try:
            while data := await handle.run(os.read, handle.fd, READ_SIZE):
                yield data
        finally:
            handle.close()

    async def delete(self, owner: str, file_id: str) -> FileDeleted:
        await self._catalog.remove(owner, file_id)
        # Gone from the listing now; a crash before this unlink leaves an orphan the
        # next start removes. A download already open keeps reading the unlinked file.
        await self._blocking(_unlink, self.root / file_id)
        return FileDeleted(file_id)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks)
        await asyncio.to_thread(self._executor.shutdown)

    # -- blocking parts, run in the store's threads --------------------------------------

    async def _blocking(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.wrap_future(self._executor.submit(fn, *args, **kwargs))

    async def _open(self, path: Path, opener: Callable[[Path], int], *, created: bool) -> Handle:
        future = self._executor.submit(opener, path)
        try:
            fd = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            # The thread still opens it: close (and remove what it created) when it has.
            future.add_done_callback(lambda done: _abandon(done, path if created else None))
            raise
        return Handle(fd, self._executor)

    def _create_locked(self, path: Path) -> int:
        # The directory lock closes the gap between creating the file and locking it,
        # in which a sweep could take it for a dead upload's.
        with _flocked(self._lock_path, fcntl.LOCK_SH):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def _sweep_temporary(self) -> None:
        with _flocked(self._lock_path, fcntl.LOCK_EX):
            for path in self._tmp.iterdir():
                with _try_lock(path) as free:
                    if free:
                        log.info("removing the remains of an unfinished upload: %s", path.name)
                        _unlink(path)

    async def _sweep_unlisted(self) -> None:
        names = await self._blocking(
            lambda: [p.name for p in self.root.iterdir() if p.name.startswith("file-")]
        )
        listed: set[str] = set()
        for start in range(0, len(names), 500):
            listed |= await self._catalog.existing(names[start : start + 500])
        for name in set(names) - listed:
            await self._remove_if_unlisted(self.root / name)

    async def _remove_if_unlisted(self, path: Path) -> None:
        # An upload holds its lock until its row is committed: a free lock and still no
        # row means its writer died between the rename and the commit.
        lock = await self._blocking(_try_acquire, path)
        if lock is None:
            return
        try:
            if not await self._catalog.existing([path.name]):
                log.info("removing the contents of an unlisted file: %s", path.name)
                await self._blocking(_unlink, path)
        finally:
            os.close(lock)


async def _receive(handle: Handle, chunks: AsyncIterable[bytes], max_bytes: int) -> int:
    size = 0
    buffer = bytearray()
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the file is larger than the limit of {max_bytes} bytes")
        buffer += chunk
        if len(buffer) >= WRITE_SIZE:
            data, buffer = buffer, bytearray()
            await handle.run(write_all, handle.fd, data)
    if buffer:
        await handle.run(write_all, handle.fd, buffer)
    return size


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _open_for_reading(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _abandon(opened: Future[int], created: Path | None) -> None:
    if opened.exception() is not None:
        return
    os.close(opened.result())
    if created is not None:
        _unlink(created)


@contextlib.contextmanager
def _flocked(path: Path, mode: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def _try_acquire(path: Path) -> int | None:
    """An fd holding ``path``'s exclusive lock, or ``None`` if it is locked or gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def _try_lock(path: Path) -> Iterator[bool]:
    fd = _try_acquire(path)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            os.close(fd)

"""The file store interface the Files routes use, whatever keeps the bytes.

Two implementations: ``DirectoryFileStore`` (contents in a local directory, metadata in
the SQL database: the embedded default on SQLite) and ``DatabaseFileStore`` (contents
as chunked rows in the database itself: what replicas sharing PostgreSQL use). The
composition root picks one.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol

from continuum.files.objects import FileDeleted, FileObject, FilePage, Order


class FileStore(Protocol):
    """Uploaded files, each visible only to its owner (everyone else gets ``NotFound``).

    A file is listed only once its contents are whole and durable; a process killed
    mid-upload leaves nothing listed, and ``start`` sweeps what it left behind.
    """

    async def start(self) -> None:
        """Prepare storage and remove the leftovers of uploads that died."""
        ...

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
        """Store a streamed upload. ``PayloadTooLarge`` the moment it passes ``max_bytes``
        (nothing stays stored); ``InvalidRequest`` for a bad purpose, name or expiry."""
        ...

    async def list(
        self,
        owner: str,
        purpose: str | None = None,
        limit: int = 10_000,
        after: str | None = None,
        order: Order = "desc",
    ) -> FilePage:
        """The owner's files by creation time; ``after`` is the last id of the previous page."""
        ...

    async def get(self, owner: str, file_id: str) -> FileObject:
        """One file's metadata, or ``NotFound``."""
        ...

    async def content(self, owner: str, file_id: str) -> AsyncIterator[bytes]:
        """The file's bytes as a stream. ``NotFound`` is raised here, before streaming,
        so a door can still answer 404; the iterator yields exactly ``bytes`` bytes."""
        ...

    async def delete(self, owner: str, file_id: str) -> FileDeleted:
        """Remove a file; ``NotFound`` if the owner has no such file."""
        ...

    async def aclose(self) -> None:
        """Release threads and handles."""
        ...

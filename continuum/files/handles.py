"""File descriptors worked on in a thread pool, closed only when no thread is using them.

Disk writes, reads and fsyncs block, so they run in threads. A cancelled ``await`` does
not stop its thread: closing the descriptor at that moment would let the kernel hand its
number to the next file opened, and the still-running write would land there. So a
``Handle`` closes only after its last operation has finished.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Handle:
    """One open descriptor and the thread pool its blocking operations run in."""

    def __init__(self, fd: int, executor: Executor):
        self.fd = fd
        self._executor = executor
        self._last: Future[Any] | None = None
        self._closed = False

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        future = self._executor.submit(fn, *args, **kwargs)
        self._last = future
        return await asyncio.wrap_future(future)

    def close(self, then: Callable[[], None] | None = None) -> None:
        """Close now, or when the running operation ends; ``then`` runs after the close."""
        if self._closed:
            return
        self._closed = True

        def finish(_: object = None) -> None:
            os.close(self.fd)
            if then is not None:
                then()

        if self._last is not None and not self._last.done():
            self._last.add_done_callback(finish)
        else:
            finish()


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written (it may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_directory(path: os.PathLike[str] | str) -> None:
    """Make a rename or unlink in ``path`` durable: the directory entry itself is synced."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

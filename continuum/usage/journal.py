"""The usage journal: every record appended to a local file before its answer ends.

The ledger writes to the database in batches, twice a second; a process that dies
between two batches would lose what was queued. So ``append`` also writes each record,
as one JSON line, to a file under ``<data dir>/journal/`` with a single ``write(2)``
(unbuffered: the bytes are in the kernel's page cache when it returns, so they outlive
the process; ``fsync`` would be needed only against a power cut, at a millisecond a
request). The pipeline records a request before its door sends the answer's last byte,
so every answer a client saw complete is in a journal.

Files are segments named ``<origin>-<n>.jsonl``: ``origin`` is random per process
start, ``n`` counts segments. At each flush the ledger ``rotate``\\ s (new records go to
a new segment) and ``release``\\ s the old segments once their records are in the
database. A process holds an exclusive ``flock`` on every segment it has not released;
at start, ``orphans`` yields the segments nobody holds (their process died), whose
records the ledger writes again. The database keeps each record once, by its
``entry`` (``origin-seq``), so replaying a segment whose batch was already written, or
two replicas replaying the same directory, counts nothing twice.
"""

from __future__ import annotations

import fcntl
import logging
import operator
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from continuum.core.ports import UsageRecord
from continuum.store.private import private_dir
from continuum.usage.fit import COLUMNS

log = logging.getLogger("continuum.usage")
SUFFIX = ".jsonl"


# One C call makes the tuple of a line: ``seq`` then every column, in the order parse_line reads.
_values = operator.attrgetter("seq", *COLUMNS)


def _line(record: UsageRecord) -> bytes:
    values = _values(record)
    try:
        return orjson.dumps(values) + b"\n"
    except TypeError:  # text orjson cannot encode (a lone surrogate): replace it
        clean = [v.encode("utf-8", "replace").decode() if isinstance(v, str) else v for v in values]
        return orjson.dumps(clean) + b"\n"


def parse_line(line: bytes) -> UsageRecord | None:
    """A journal line back into its record (None: not a whole record)."""
    try:
        values = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(values, list) or len(values) != len(COLUMNS) + 1:
        return None
    try:
        return UsageRecord(**dict(zip(COLUMNS, values[1:], strict=True)), seq=int(values[0]))
    except (TypeError, ValueError):
        return None


@dataclass(slots=True)
class Segment:
    """One journal file, locked by its writer until released."""

    path: Path
    fd: int
    origin: str
    records: int = 0

    def close(self, remove: bool) -> None:
        """Unlock; ``remove`` deletes it (its records are in the database), else it stays
        for the next start to replay."""
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)  # drops the lock


def _open_locked(path: Path) -> int:
    """Create ``path`` already locked: made under another name, locked, then renamed, so
    a process replaying orphans never sees it unlocked."""
    making = path.with_suffix(".new")
    fd = os.open(making, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        os.rename(making, path)
    except OSError:
        os.close(fd)
        raise
    return fd


class Journal:
    """Append-only segments of usage records under ``directory`` (see the module docstring).

    ``failures`` counts appends that could not be written (a full disk): the record is
    still queued for the database, only its protection against a crash is lost.
    """

    def __init__(self, directory: Path, origin: str | None = None):
        self.directory = directory
        self.origin = origin or secrets.token_hex(8)
        self.failures = 0
        self._number = 0
        self._current: Segment | None = None

    def _new_segment(self) -> Segment:
        private_dir(self.directory)
        self._number += 1
        path = self.directory / f"{self.origin}-{self._number}{SUFFIX}"
        return Segment(path, _open_locked(path), self.origin)

    def append(self, record: UsageRecord) -> None:
        """Write one record (never raises: a failure is counted and logged once)."""
        segment = self._current
        try:
            if segment is None:
                segment = self._current = self._new_segment()
            os.write(segment.fd, _line(record))
            segment.records += 1
        except OSError as error:
            self.failures += 1
            if self.failures == 1:
                log.error("usage journal: cannot write to %s (%s)", self.directory, error)

    def rotate(self) -> Segment | None:
        """Start a new segment for later records; the one written so far (None if empty)."""
        segment = self._current
        if segment is None or segment.records == 0:
            return None
        self._current = None  # opened on the next append
        return segment

    def release(self, segments: list[Segment], *, keep: bool = False) -> None:
        """The records of ``segments`` are in the database: remove them (``keep``: they are
        not, and will not be from this process; leave them for the next start)."""
        for segment in segments:
            segment.close(remove=not keep)
        segments.clear()

    def close(self) -> None:
        """Stop writing; an empty current segment is removed, a written one left for replay."""
        segment, self._current = self._current, None
        if segment is not None:
            segment.close(remove=segment.records == 0)

    def orphans(self) -> Iterator[tuple[Segment, list[UsageRecord]]]:
        """Segments no live process holds, with their records (locked while yielded).

        The caller writes the records, then ``release``\\ s the segment; a segment it does
        not release stays for the next start.
        """
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            origin = path.name.rsplit("-", 1)[0]
            if origin == self.origin:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue  # another process replayed it meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its process is alive
                continue
            if os.fstat(fd).st_nlink == 0:  # removed between our open and our lock
                os.close(fd)
                continue
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
            records = [r for r in map(parse_line, data.splitlines()) if r is not None]
            yield Segment(path, fd, origin, len(records)), records

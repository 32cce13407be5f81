"""The usage journal: every record appended to a local file before its answer ends.

The ledger writes to the database in batches, twice a second; a process that dies
between two batches would lose what was queued. So ``append`` also writes each record,
as one JSON line, to a file under ``<data dir>/journal/``, by copying it into a shared
memory mapping of the file: the bytes are in the kernel's page cache as soon as the
copy ends, so they outlive the process, and no system call is made (one ``write(2)``
per record cost 5-7 µs on this machine, the copy about 1). ``fsync`` would be needed
only against a power cut, at a millisecond a request. The pipeline records a request
before its door sends the answer's last byte, so every answer a client saw complete
is in a journal.

Files are segments named ``<origin>-<n>.jsonl``: ``origin`` is random per process
start, ``n`` counts segments. At each flush the ledger ``rotate``\\ s (new records go to
another segment) and ``release``\\ s the old segments once their records are in the
database (emptied and kept for reuse, or removed). A process holds an exclusive
``flock`` on every segment it has not removed; at start, ``orphans`` yields the
segments nobody holds (their process died), whose records the ledger writes again.
The database keeps each record once, by its ``entry`` (``origin-seq``), so replaying a
segment whose batch was already written, or two replicas replaying the same directory,
counts nothing twice.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
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
# Bytes reserved per segment (~4,000 records); a fuller segment is followed by another.
CAPACITY = 1 << 20
SPARES = 2


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
    """One journal file, locked by its writer until released.

    A segment being written is mapped in memory (``mapping``): an append is a copy into
    the page cache, no system call, and the kernel keeps the pages when the process
    dies. Its blocks are reserved when it is made (``posix_fallocate``), so a full disk
    is an error at that moment rather than a crash (SIGBUS) in the middle of a copy.
    """

    path: Path
    fd: int
    origin: str
    records: int = 0
    mapping: mmap.mmap | None = None
    position: int = 0

    def close(self, remove: bool) -> None:
        """Unlock; ``remove`` deletes it (its records are in the database), else it stays,
        cut to what was written, for the next start to replay."""
        if self.mapping is not None:
            self.mapping.close()
            self.mapping = None
            if not remove:
                os.ftruncate(self.fd, self.position)
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)  # drops the lock


def _open_locked(path: Path, capacity: int) -> tuple[int, mmap.mmap]:
    """Create ``path`` already locked and mapped: made under another name, its blocks
    reserved, locked, then renamed, so a process replaying orphans never sees it unlocked."""
    making = path.with_suffix(".new")
    fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        os.posix_fallocate(fd, 0, capacity)
        mapping = mmap.mmap(fd, capacity)
        os.rename(making, path)
    except OSError:
        os.close(fd)
        making.unlink(missing_ok=True)
        raise
    return fd, mapping


class Journal:
    """Append-only segments of usage records under ``directory`` (see the module docstring).

    ``failures`` counts appends that could not be written (a full disk): the record is
    still queued for the database, only its protection against a crash is lost.
    """

    def __init__(self, directory: Path, origin: str | None = None, capacity: int = CAPACITY):
        self.directory = directory
        self.origin = origin or secrets.token_hex(8)
        self.failures = 0
        self._capacity = capacity
        self._number = 0
        self._current: Segment | None = None
        self._full: list[Segment] = []  # filled before the ledger's next rotate
        # Released segments kept for reuse, emptied: making a file (reserve, map, lock,
        # rename) and removing it cost ~0.5 ms, zeroing what was written ~20 µs.
        self._spare: list[Segment] = []

    def _new_segment(self, size: int) -> Segment:
        if self._spare and size <= self._capacity:
            return self._spare.pop()
        private_dir(self.directory)
        self._number += 1
        path = self.directory / f"{self.origin}-{self._number}{SUFFIX}"
        fd, mapping = _open_locked(path, max(self._capacity, size))
        return Segment(path, fd, self.origin, mapping=mapping)

    def append(self, record: UsageRecord) -> None:
        """Write one record (never raises: a failure is counted and logged once)."""
        line = _line(record)
        segment = self._current
        try:
            if segment is None or segment.position + len(line) > len(segment.mapping or b""):
                if segment is not None:
                    self._full.append(segment)
                    self._current = None
                segment = self._current = self._new_segment(len(line))
            assert segment.mapping is not None
            end = segment.position + len(line)
            segment.mapping[segment.position : end] = line
            segment.position = end
            segment.records += 1
        except OSError as error:
            self.failures += 1
            if self.failures == 1:
                log.error("usage journal: cannot write to %s (%s)", self.directory, error)

    def rotate(self) -> list[Segment]:
        """Start a new segment for later records; the ones written so far."""
        written, self._full = self._full, []
        segment = self._current
        if segment is not None and segment.records:
            self._current = None  # opened on the next append
            written.append(segment)
        return written

    def release(self, segments: list[Segment], *, keep: bool = False) -> None:
        """The records of ``segments`` are in the database: remove them (``keep``: they are
        not, and will not be from this process; leave them for the next start)."""
        for segment in segments:
            mapping = segment.mapping
            if keep or mapping is None or len(self._spare) >= SPARES:
                segment.close(remove=not keep)
                continue
            mapping[: segment.position] = bytes(segment.position)  # replay would find nothing
            segment.position = segment.records = 0
            self._spare.append(segment)
        segments.clear()

    def close(self) -> None:
        """Stop writing; an empty current segment is removed, written ones left for replay."""
        segments, self._full = [*self._full, *([self._current] if self._current else [])], []
        segments += self._spare
        self._current, self._spare = None, []
        for segment in segments:
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
                data = handle.read().split(b"\x00", 1)[0]  # reserved, never written: zeros
            records = [r for r in map(parse_line, data.splitlines()) if r is not None]
            yield Segment(path, fd, origin, len(records)), records

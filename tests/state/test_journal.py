"""The usage journal: segments, locks, replay at most once per record (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from continuum.app import open_database
from continuum.core.ports import UsageRecord
from continuum.settings import Settings
from continuum.store.database import Database
from continuum.store.tables import usage
from continuum.usage.journal import Journal, parse_line
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore


def record(request_id: str) -> UsageRecord:
    return UsageRecord(
        request_id, "ann", None, "m", "local/echo", 3, 5, 1.0, None, 200, "x", time.time(), "tcp"
    )


def test_a_line_carries_every_field_of_the_record(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    original = record("r1")
    original.seq = 7
    journal.append(original)
    (segment,) = journal.rotate()
    # Read while the writer still holds it: what a process that dies would leave.
    (line,) = segment.path.read_bytes().rstrip(b"\x00").splitlines()
    assert parse_line(line) == original
    assert parse_line(line[:-3]) is None and parse_line(b"[1, 2]") is None
    journal.release([segment])  # written: emptied, kept for the next records
    assert segment.path.read_bytes().strip(b"\x00") == b""
    journal.close()
    assert not segment.path.exists()


def test_a_full_segment_is_followed_by_another(tmp_path: Path) -> None:
    journal = Journal(tmp_path, capacity=4096)
    for index in range(200):  # ~80 bytes each: 16 KB, several 4 KiB segments
        journal.append(record(f"r{index}"))
    segments = journal.rotate()
    assert len(segments) >= 3 and sum(s.records for s in segments) == 200
    journal.release(segments, keep=True)  # cut to what was written
    found = [r.request_id for _, records in Journal(tmp_path).orphans() for r in records]
    assert sorted(found) == sorted(f"r{index}" for index in range(200))
    # Cut to what was written: no reserved zeros left (a segment that happened to fill
    # exactly is 4096 bytes of records, so the size alone cannot tell).
    assert all(b"\x00" not in p.read_bytes() for p in tmp_path.glob("*.jsonl"))


def test_files_are_private(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "data" / "journal")
    journal.append(record("r1"))
    (path,) = (tmp_path / "data" / "journal").iterdir()
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data" / "journal").stat().st_mode & 0o777 == 0o700
    journal.close()


def test_a_live_journal_is_no_orphan_and_a_dead_one_is(tmp_path: Path) -> None:
    live = Journal(tmp_path)
    live.append(record("a"))
    retired = live.rotate()
    live.append(record("b"))
    other = Journal(tmp_path)
    assert list(other.orphans()) == []  # both segments are locked by their writer
    live.release(retired, keep=True)  # as a process that dies leaves it
    live.close()
    found = {
        segment.path.name: [r.request_id for r in records] for segment, records in other.orphans()
    }
    assert found == {f"{live.origin}-1.jsonl": ["a"], f"{live.origin}-2.jsonl": ["b"]}


@pytest.fixture
async def database(database_settings: dict[str, object]) -> AsyncIterator[Database]:
    db = open_database(Settings.from_env({}, **database_settings))
    await db.migrate()
    yield db
    await db.close()


def journals(directory: Path) -> list[Path]:
    return list(directory.glob("*.jsonl")) + list(directory.glob("*.new"))


async def count(database: Database) -> tuple[int, int]:
    async with database.engine.connect() as conn:
        rows = await conn.scalar(select(func.count()).select_from(usage))
        ids = await conn.scalar(select(func.count(func.distinct(usage.c.request_id))))
    return int(rows or 0), int(ids or 0)


async def test_replay_writes_each_record_once(database: Database, tmp_path: Path) -> None:
    store = UsageStore(database)
    crashed = BatchingLedger(store, interval=60, journal=Journal(tmp_path))
    for index in range(5):
        crashed.record(record(f"written-{index}"))
    await crashed.flush()  # in the database: their segment is removed
    for index in range(3):
        crashed.record(record(f"queued-{index}"))
    # A batch that reached the database but whose segment was not yet released when the
    # process died: the flush of another process sharing the database wrote it.
    await store.insert(crashed._queue[:2], crashed.origin)
    assert crashed._journal is not None
    crashed._journal.close()  # the process dies: its locks go, its files stay
    assert await count(database) == (7, 7)

    restarted = BatchingLedger(store, interval=60, journal=Journal(tmp_path))
    await restarted.start()
    assert restarted.replayed == 3
    assert await count(database) == (8, 8)  # queued-2 added; queued-0 and -1 not twice
    assert journals(tmp_path) == []
    again = BatchingLedger(store, interval=60, journal=Journal(tmp_path))
    await again.start()
    assert again.replayed == 0 and await count(database) == (8, 8)
    await restarted.close()
    await again.close()


async def test_a_clean_close_leaves_no_journal(database: Database, tmp_path: Path) -> None:
    ledger = BatchingLedger(
        UsageStore(database), interval=60, journal=Journal(tmp_path / "journal")
    )
    await ledger.start()
    for index in range(20):
        ledger.record(record(f"r{index}"))
    await ledger.close()
    assert await count(database) == (20, 20)
    assert journals(tmp_path / "journal") == []

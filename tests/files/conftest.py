"""File stores over both backends: SQLite with a local directory, PostgreSQL with chunk rows."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from continuum.app import open_database
from continuum.files import DatabaseFileStore, DirectoryFileStore, FileStore
from continuum.settings import Settings
from continuum.store.database import Database
from continuum.store.tables import file_chunks, files


class Clock:
    """Unix time that moves only when told to (``step`` per reading, ``advance``)."""

    def __init__(self, now: float = 1_800_000_000.0, step: float = 0.001):
        self.now = now
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_store(
    database: Database, data_dir: Path, clock: Callable[[], float] = time.time, **options: Any
) -> FileStore:
    """The store the gateway would build: a directory on SQLite, chunk rows on PostgreSQL."""
    if database.is_sqlite:
        return DirectoryFileStore(database, data_dir / "files", clock=clock, **options)
    # Small chunks, so even the tests' small files span several rows.
    options.setdefault("chunk_bytes", 64 * 1024)
    return DatabaseFileStore(database, clock=clock, **options)


@dataclass
class Stored:
    """Everything a store keeps, below its interface."""

    rows: dict[str, str] = field(default_factory=dict)  # id -> status
    contents: set[str] = field(default_factory=set)  # ids with bytes on disk or in chunk rows
    temporary: set[str] = field(default_factory=set)  # unfinished writes on disk


async def stored(database: Database, data_dir: Path) -> Stored:
    found = Stored()
    async with database.engine.connect() as conn:
        found.rows = {
            r.id: r.status for r in await conn.execute(select(files.c.id, files.c.status))
        }
        found.contents = {
            r.file_id for r in await conn.execute(select(file_chunks.c.file_id).distinct())
        }
    root = data_dir / "files"
    if root.is_dir():
        found.contents |= {p.name for p in root.iterdir() if p.name.startswith("file-")}
        found.temporary = {p.name for p in (root / "tmp").iterdir()}
    return found


async def chunked(data: bytes, size: int = 7919) -> AsyncIterator[bytes]:
    """``data`` in pieces of an odd size, as a network would deliver it."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(store: FileStore, owner: str, file_id: str) -> bytes:
    return b"".join([piece async for piece in await store.content(owner, file_id)])


@pytest.fixture
async def database(database_settings: dict[str, Any]) -> AsyncIterator[Database]:
    db = open_database(Settings.from_env({}, **database_settings))
    await db.migrate()
    yield db
    await db.close()


@pytest.fixture
def data_dir(database_settings: dict[str, Any]) -> Path:
    return Path(database_settings["data_dir"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(database: Database, data_dir: Path, clock: Clock) -> AsyncIterator[FileStore]:
    made = make_store(database, data_dir, clock)
    await made.start()
    yield made
    await made.aclose()

"""One async engine and the migrations that bring its schema up to date.

Migrations are an ordered list of steps; ``continuum_schema_version`` remembers the
last one applied, so ``migrate`` is safe to run at every start and from
``continuum db upgrade``, by several replicas at once (each step runs in one
transaction and a replica that loses the race finds the version already there).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from continuum.errors import StateUnavailable
from continuum.store.private import private_file
from continuum.store.tables import (
    api_keys,
    callbacks,
    file_chunks,
    files,
    metadata,
    responses,
    schema_version,
    usage,
)


@contextmanager
def state_errors(what: str) -> Iterator[None]:
    """The database driver's failures as ``StateUnavailable`` (503), never a raw 500.

    The one place the SQL layer's exceptions are translated (drivers raise their own
    ``OSError`` subclasses when the server is gone, SQLAlchemy wraps the rest).
    """
    try:
        yield
    except (SQLAlchemyError, OSError) as error:
        raise StateUnavailable(f"{what} is unavailable ({type(error).__name__})") from error


async def _v1(conn: AsyncConnection) -> None:
    """The usage ledger and the run-time API keys."""
    await conn.run_sync(
        lambda sync: metadata.create_all(sync, tables=[usage, api_keys], checkfirst=True)
    )


async def _v2(conn: AsyncConnection) -> None:
    """The door that served each usage record (databases made before it lack the column)."""

    def add(sync: Any) -> None:
        if "door" not in {c["name"] for c in inspect(sync).get_columns(usage.name)}:
            sync.exec_driver_sql(f"ALTER TABLE {usage.name} ADD COLUMN door VARCHAR(32)")

    await conn.run_sync(add)


async def _files(conn: AsyncConnection) -> None:
    """Uploaded files: their metadata, and their contents when kept in the database."""
    await conn.run_sync(
        lambda sync: metadata.create_all(sync, tables=[files, file_chunks], checkfirst=True)
    )


async def _responses(conn: AsyncConnection) -> None:
    """Stored Responses (continuum/responses), shared by every replica on the database."""
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[responses], checkfirst=True))


async def _callbacks(conn: AsyncConnection) -> None:
    """The completion callback outbox (continuum/sessions/callbacks/sql.py)."""
    await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[callbacks], checkfirst=True))


async def _usage_entry(conn: AsyncConnection) -> None:
    """Each usage record's idempotency key (journal replay writes a record at most once)."""

    def add(sync: Any) -> None:
        inspector = inspect(sync)
        if "entry" not in {c["name"] for c in inspector.get_columns(usage.name)}:
            sync.exec_driver_sql(f"ALTER TABLE {usage.name} ADD COLUMN entry VARCHAR(48)")
        if "continuum_usage_entry" not in {i["name"] for i in inspector.get_indexes(usage.name)}:
            sync.exec_driver_sql(
                f"CREATE UNIQUE INDEX continuum_usage_entry ON {usage.name} (entry)"
            )

    await conn.run_sync(add)


MIGRATIONS: list[Callable[[AsyncConnection], Awaitable[None]]] = [
    _v1,
    _v2,
    _files,
    _responses,
    _callbacks,
    _usage_entry,
]


def describe(step: Callable[..., object]) -> str:
    """A migration's one-line description: the first line of its docstring."""
    return (step.__doc__ or step.__name__).strip().splitlines()[0]


# Tries of one migration step when replicas race to apply it (Database._racing).
_RACE_TRIES = 3


def database_url(url: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL: PostgreSQL when configured, else SQLite under the data dir."""
    if not url:
        return f"sqlite+aiosqlite:///{data_dir / 'continuum.db'}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url.removeprefix(plain)
    return url


class Database:
    """The SQL database of one gateway: an async engine and its migrations."""

    def __init__(self, url: str, *, schema: str | None = None):
        options: dict[str, Any] = {}
        if url.startswith("postgresql") and schema:
            # Tests isolate themselves in a schema of their own.
            options["connect_args"] = {"server_settings": {"search_path": schema}}
        if url.startswith("sqlite"):
            options["connect_args"] = {"timeout": 30}
        self.url = url
        self.schema = schema
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if url.startswith("sqlite"):
            # Made 0600 before SQLite opens it; its -wal and -shm files take the same mode.
            private_file(Path(url.split("///", 1)[1]))
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def migrate(self, progress: Callable[[int, str, bool], None] | None = None) -> int:
        """Apply the missing migrations; returns the schema version now in place.

        ``progress(number, description, applied)`` is called after each step: ``applied``
        is False for a step that was already in place. Safe when several workers or
        replicas start on a new database at once (see ``_racing``).
        """
        await self._racing(self._prepare)
        for number, step in enumerate(MIGRATIONS, start=1):
            applied: list[int] = []
            await self._racing(
                functools.partial(self._apply, number=number, step=step, applied=applied)
            )
            if progress is not None:
                progress(number, describe(step), bool(applied))
        return len(MIGRATIONS)

    async def _prepare(self, conn: AsyncConnection) -> None:
        if self.schema and not self.is_sqlite:
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        await conn.run_sync(lambda sync: schema_version.create(sync, checkfirst=True))

    @staticmethod
    async def _apply(
        conn: AsyncConnection,
        *,
        number: int,
        step: Callable[[AsyncConnection], Awaitable[None]],
        applied: list[int],
    ) -> None:
        done = await conn.scalar(
            select(schema_version.c.version).where(schema_version.c.version == number)
        )
        if done is None:
            await step(conn)
            await conn.execute(insert(schema_version).values(version=number, applied=time.time()))
            applied.append(number)

    async def _racing(self, work: Callable[[AsyncConnection], Awaitable[None]]) -> None:
        """Run ``work`` in a transaction, again if it lost a race.

        Replicas starting together all see a missing table (or schema, or version row)
        and create it; every one but the first fails with a duplicate ("already exists",
        a unique violation) and, trying again, finds it made. Three workers on a fresh
        SQLite file failed this way at every other start (tests/state).
        """
        for attempt in range(_RACE_TRIES):
            try:
                async with self.engine.begin() as conn:
                    await work(conn)
                return
            except (IntegrityError, OperationalError, ProgrammingError):
                if attempt == _RACE_TRIES - 1:
                    raise

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets the ledger writer and readers (GET /usage, other workers) work at once.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

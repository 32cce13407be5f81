"""A database that cannot be reached answers 503 (StateUnavailable), never a raw driver error."""

from __future__ import annotations

from pathlib import Path

import pytest

from continuum.errors import StateUnavailable
from continuum.files import DatabaseFileStore, DirectoryFileStore, FileStore
from continuum.store.database import Database
from tests.files.conftest import chunked

# Nothing listens on the discard port.
DEAD = "postgresql+asyncpg://postgres@127.0.0.1:9/test"


@pytest.mark.parametrize("kind", ["database", "directory"])
async def test_an_unreachable_database_is_state_unavailable(kind: str, tmp_path: Path) -> None:
    database = Database(DEAD)
    store: FileStore = (
        DatabaseFileStore(database)
        if kind == "database"
        else DirectoryFileStore(database, tmp_path / "files")
    )
    if kind == "directory":
        (tmp_path / "files" / "tmp").mkdir(parents=True)
    try:
        with pytest.raises(StateUnavailable) as caught:
            await store.put("ann", "a.txt", "batch", chunked(b"data"), max_bytes=100)
        assert caught.value.status == 503
        for attempt in (
            store.list("ann"),
            store.get("ann", "file-x"),
            store.delete("ann", "file-x"),
        ):
            with pytest.raises(StateUnavailable):
                await attempt
        with pytest.raises(StateUnavailable):
            await store.content("ann", "file-x")
    finally:
        await store.aclose()
        await database.close()
    if kind == "directory":  # no temporary left; the whole file waits for the next sweep
        assert list((tmp_path / "files" / "tmp").iterdir()) == []

"""What ``start`` removes and what it must leave alone, per backend."""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from continuum.app import open_database
from continuum.errors import ContinuumError
from continuum.files import DatabaseFileStore, DirectoryFileStore
from continuum.settings import Settings
from continuum.store.tables import file_chunks, files
from tests.files.conftest import Clock, chunked, read_all, stored


async def test_directory_sweep_removes_dead_uploads_but_not_live_ones(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = open_database(Settings.from_env({}, data_dir=data_dir))
    await database.migrate()
    root = data_dir / "files"
    store = DirectoryFileStore(database, root)
    await store.start()
    listed = await store.put("ann", "a.txt", "batch", chunked(b"listed"), max_bytes=100)
    await store.aclose()

    # A writer killed mid-write leaves a temporary file; one killed between the rename
    # and the commit leaves contents without a row.
    (root / "tmp" / "file-dead.part").write_bytes(b"half")
    (root / "file-unlisted").write_bytes(b"whole but never committed")
    # Another worker's upload in flight holds its lock: it must survive the sweep.
    live = os.open(root / "tmp" / "file-live.part", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(live, fcntl.LOCK_EX)
    live_final = os.open(root / "file-renamed", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(live_final, fcntl.LOCK_EX)
    try:
        fresh = DirectoryFileStore(database, root)
        await fresh.start()
        assert sorted(p.name for p in (root / "tmp").iterdir()) == ["file-live.part"]
        assert sorted(p.name for p in root.glob("file-*")) == sorted(["file-renamed", listed.id])
        assert await read_all(fresh, "ann", listed.id) == b"listed"
        await fresh.aclose()
    finally:
        os.close(live)
        os.close(live_final)
    database_left = await stored(database, data_dir)
    assert set(database_left.rows) == {listed.id}
    await database.close()


async def test_database_sweep_removes_stale_uploads_only(
    database_settings: dict[str, Any],
) -> None:
    clock = Clock()
    database = open_database(Settings.from_env({}, **database_settings))
    await database.migrate()
    store = DatabaseFileStore(database, clock=clock, chunk_bytes=4, stale_after=600)
    await store.start()
    listed = await store.put("ann", "a.txt", "batch", chunked(b"listed data"), max_bytes=100)

    def uploading(file_id: str, touched: float) -> dict[str, object]:
        return {
            "id": file_id,
            "owner": "ann",
            "filename": "x",
            "purpose": "batch",
            "bytes": 0,
            "created": touched,
            "expires": None,
            "status": "uploading",
            "touched": touched,
        }

    async with database.engine.begin() as conn:
        await conn.execute(insert(files).values(**uploading("file-dead", clock.now - 601)))
        await conn.execute(insert(files).values(**uploading("file-live", clock.now - 10)))
        await conn.execute(
            insert(file_chunks),
            [{"file_id": f, "seq": 0, "data": b"part"} for f in ("file-dead", "file-live")],
        )
    assert [f.id for f in (await store.list("ann")).data] == [listed.id]  # never listed

    fresh = DatabaseFileStore(database, clock=clock, chunk_bytes=4, stale_after=600)
    await fresh.start()
    left = await stored(database, Path(database_settings["data_dir"]))
    assert left.rows == {listed.id: "processed", "file-live": "uploading"}
    assert left.contents == {listed.id, "file-live"}
    assert await read_all(fresh, "ann", listed.id) == b"listed data"
    await fresh.aclose()
    await store.aclose()
    await database.close()


async def test_a_replica_starting_during_a_long_upload_leaves_it_alone(
    database_settings: dict[str, Any],
) -> None:
    clock = Clock()
    database = open_database(Settings.from_env({}, **database_settings))
    await database.migrate()
    uploading = DatabaseFileStore(database, clock=clock, chunk_bytes=4, stale_after=600)
    other = DatabaseFileStore(database, clock=clock, chunk_bytes=4, stale_after=600)

    async def slow() -> AsyncIterator[bytes]:
        for n in range(30):
            yield b"%04d" % n
            clock.advance(100)  # the whole upload takes 3000 s, five times stale_after
            if n == 25:
                await other.start()  # another replica starts and sweeps meanwhile

    try:
        made = await uploading.put("ann", "slow.txt", "batch", slow(), max_bytes=1000)
        assert await read_all(other, "ann", made.id) == b"".join(b"%04d" % n for n in range(30))
    finally:
        await database.close()


async def test_an_upload_swept_as_dead_fails_instead_of_claiming_success(
    database_settings: dict[str, Any],
) -> None:
    clock = Clock()
    database = open_database(Settings.from_env({}, **database_settings))
    await database.migrate()
    # A replica whose stale_after is shorter than the gap between progress marks.
    uploading = DatabaseFileStore(database, clock=clock, chunk_bytes=4)
    hasty = DatabaseFileStore(database, clock=clock, chunk_bytes=4, stale_after=5)

    async def slow() -> AsyncIterator[bytes]:
        yield b"abcd"
        clock.advance(10)
        await hasty.start()
        yield b"efgh"

    try:
        with pytest.raises(ContinuumError, match="removed before it was complete"):
            await uploading.put("ann", "slow.txt", "batch", slow(), max_bytes=1000)
        left = await stored(database, Path(database_settings["data_dir"]))
        assert left.rows == {} and left.contents == set()
    finally:
        await database.close()

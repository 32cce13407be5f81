"""One contract for every file store: SQLite + a directory, and PostgreSQL (real servers)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from continuum.errors import InvalidRequest, NotFound, PayloadTooLarge
from continuum.files import FileStore
from continuum.store.database import Database
from tests.files.conftest import Clock, chunked, read_all, stored
from tests.openapi_schemas import assert_matches

MiB = 1 << 20


async def test_round_trip_keeps_every_byte_and_the_metadata(
    store: FileStore, database: Database, data_dir: Path, clock: Clock
) -> None:
    for size in (0, 1, 65_536, 3 * MiB + 17):
        data = os.urandom(size)
        before = clock.now
        made = await store.put("ann", "data.jsonl", "batch", chunked(data), max_bytes=4 * MiB)
        assert made.id.startswith("file-") and len(made.id) == 29
        assert (made.bytes, made.filename, made.purpose, made.status) == (
            size,
            "data.jsonl",
            "batch",
            "processed",
        )
        assert int(before) <= made.created_at <= int(clock.now)
        assert made.expires_at is None
        assert await store.get("ann", made.id) == made
        assert await read_all(store, "ann", made.id) == data
        assert_matches("OpenAIFile", made.to_dict())
    page = await store.list("ann")
    assert len(page.data) == 4 and not page.has_more
    assert_matches("ListFilesResponse", page.to_dict())
    left = await stored(database, data_dir)
    assert set(left.rows) == {f.id for f in page.data} and not left.temporary
    # Empty files have no bytes anywhere; every other one has its contents stored.
    assert left.contents >= {f.id for f in page.data if f.bytes}


async def test_files_are_invisible_to_every_other_owner(store: FileStore) -> None:
    mine = await store.put("ann", "a.txt", "assistants", chunked(b"ann's secret"), max_bytes=100)
    await store.put("bob", "b.txt", "assistants", chunked(b"bob's"), max_bytes=100)
    with pytest.raises(NotFound) as caught:
        await store.get("bob", mine.id)
    assert caught.value.status == 404 and mine.id in caught.value.message
    with pytest.raises(NotFound):
        await store.content("bob", mine.id)
    with pytest.raises(NotFound):
        await store.delete("bob", mine.id)
    assert [f.filename for f in (await store.list("bob")).data] == ["b.txt"]
    with pytest.raises(InvalidRequest) as paging:
        await store.list("bob", after=mine.id)  # another owner's id is no cursor either
    assert paging.value.param == "after"
    assert await read_all(store, "ann", mine.id) == b"ann's secret"  # untouched by bob's tries


async def test_list_orders_pages_and_filters(store: FileStore, clock: Clock) -> None:
    made = []
    for n in range(7):
        purpose = "batch" if n % 2 else "user_data"
        made.append(await store.put("ann", f"{n}.txt", purpose, chunked(b"x"), max_bytes=10))
        clock.advance(1)
    ids = [f.id for f in made]

    assert [f.id for f in (await store.list("ann")).data] == ids[::-1]  # newest first
    assert [f.id for f in (await store.list("ann", order="asc")).data] == ids

    for order, expected in (("desc", ids[::-1]), ("asc", ids)):
        seen, after, pages = [], None, []
        while True:
            page = await store.list("ann", limit=3, after=after, order=order)  # type: ignore[arg-type]
            pages.append(page)
            seen += [f.id for f in page.data]
            if not page.has_more:
                break
            after = page.last_id
        assert seen == expected
        assert [len(p.data) for p in pages] == [3, 3, 1]
        assert pages[0].first_id == expected[0] and pages[-1].last_id == expected[-1]

    batch = await store.list("ann", purpose="batch", order="asc")
    assert [f.id for f in batch.data] == ids[1::2]
    assert (await store.list("ann", purpose="fine-tune")).to_dict() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    exact = await store.list("ann", limit=7)
    assert len(exact.data) == 7 and not exact.has_more


async def test_files_created_in_the_same_instant_still_page_exactly(
    database: Database, data_dir: Path
) -> None:
    from tests.files.conftest import make_store

    frozen = Clock(step=0.0)
    store = make_store(database, data_dir, frozen)
    await store.start()
    try:
        for n in range(5):
            await store.put("ann", f"{n}", "batch", chunked(b"x"), max_bytes=10)
        everything = [f.id for f in (await store.list("ann")).data]
        assert everything == sorted(everything, reverse=True)  # ties broken by id
        first = await store.list("ann", limit=2)
        rest = await store.list("ann", after=first.last_id)
        assert [f.id for f in first.data + rest.data] == everything
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("options", "param"),
    [({"limit": 0}, "limit"), ({"limit": 10_001}, "limit"), ({"order": "sideways"}, "order")],
)
async def test_bad_listing_arguments_are_refused(
    store: FileStore, options: dict[str, object], param: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await store.list("ann", **options)  # type: ignore[arg-type]
    assert caught.value.param == param and caught.value.status == 400


async def test_an_upload_over_the_limit_is_refused_at_once_and_leaves_nothing(
    store: FileStore, database: Database, data_dir: Path
) -> None:
    pulled = []

    async def endless() -> AsyncIterator[bytes]:
        for n in range(1000):
            pulled.append(n)
            yield b"z" * 300_000

    with pytest.raises(PayloadTooLarge) as caught:
        await store.put("ann", "big.bin", "batch", endless(), max_bytes=MiB)
    assert caught.value.status == 413
    assert len(pulled) == 4  # refused on the chunk that crossed 1 MiB, nothing read after
    assert (await store.list("ann")).data == []
    left = await stored(database, data_dir)
    assert left.rows == {} and left.contents == set() and left.temporary == set()

    exact = await store.put("ann", "exact.bin", "batch", chunked(b"e" * MiB), max_bytes=MiB)
    assert exact.bytes == MiB


async def test_a_client_that_breaks_off_or_is_cancelled_leaves_nothing(
    store: FileStore, database: Database, data_dir: Path
) -> None:
    started = asyncio.Event()

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 2 * MiB
        raise ConnectionResetError("client went away")

    async def stalled() -> AsyncIterator[bytes]:
        yield b"b" * 2 * MiB
        started.set()
        await asyncio.Event().wait()
        yield b""  # never reached

    with pytest.raises(ConnectionResetError):
        await store.put("ann", "broken.bin", "batch", broken(), max_bytes=10 * MiB)
    upload = asyncio.create_task(
        store.put("ann", "stalled.bin", "batch", stalled(), max_bytes=10 * MiB)
    )
    await started.wait()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    await store.aclose()  # waits for the threads that were still writing
    left = await stored(database, data_dir)
    assert left.rows == {} and left.contents == set() and left.temporary == set()


async def test_bad_uploads_are_refused_before_storing_anything(
    store: FileStore, database: Database, data_dir: Path
) -> None:
    cases = [
        ({"filename": "a.txt", "purpose": "fun"}, "purpose"),
        ({"filename": "", "purpose": "batch"}, "file"),
        ({"filename": "a.txt", "purpose": "batch", "expires_after": 60}, "expires_after.seconds"),
    ]
    for arguments, param in cases:
        with pytest.raises(InvalidRequest) as caught:
            await store.put("ann", chunks=chunked(b"data"), max_bytes=100, **arguments)  # type: ignore[arg-type]
        assert caught.value.param == param
    left = await stored(database, data_dir)
    assert left.rows == {} and left.contents == set() and left.temporary == set()


async def test_twenty_concurrent_uploads_all_land_whole(
    store: FileStore, database: Database, data_dir: Path
) -> None:
    payloads = [os.urandom(200_000 + n * 1000) for n in range(20)]
    made = await asyncio.gather(
        *(
            store.put("ann", f"{n}.bin", "batch", chunked(p, 4096), max_bytes=MiB)
            for n, p in enumerate(payloads)
        )
    )
    assert len({f.id for f in made}) == 20
    listed = {f.id: f for f in (await store.list("ann")).data}
    assert listed.keys() == {f.id for f in made}
    for n, made_file in enumerate(made):
        assert listed[made_file.id].filename == f"{n}.bin"
        body = await read_all(store, "ann", made_file.id)
        assert hashlib.sha256(body).digest() == hashlib.sha256(payloads[n]).digest()
    assert not (await stored(database, data_dir)).temporary


async def test_delete_removes_the_file_and_its_contents(
    store: FileStore, database: Database, data_dir: Path
) -> None:
    keep = await store.put("ann", "keep.txt", "batch", chunked(b"k" * 100_000), max_bytes=MiB)
    gone = await store.put("ann", "gone.txt", "batch", chunked(b"g" * 300_000), max_bytes=MiB)
    answer = await store.delete("ann", gone.id)
    assert answer.to_dict() == {"id": gone.id, "object": "file", "deleted": True}
    assert_matches("DeleteFileResponse", answer.to_dict())
    for attempt in (store.get, store.content, store.delete):
        with pytest.raises(NotFound):
            await attempt("ann", gone.id)
    assert [f.id for f in (await store.list("ann")).data] == [keep.id]
    left = await stored(database, data_dir)
    assert set(left.rows) == {keep.id} and left.contents == {keep.id}


async def test_a_stream_deleted_midway_fails_loudly_or_finishes(
    store: FileStore,
) -> None:
    data = os.urandom(3 * MiB)
    made = await store.put("ann", "x.bin", "batch", chunked(data), max_bytes=4 * MiB)
    stream = await store.content("ann", made.id)
    received = [await anext(stream)]
    await store.delete("ann", made.id)
    try:
        received += [piece async for piece in stream]
    except NotFound:
        assert len(b"".join(received)) < len(data)  # never a silently short file
    else:
        assert b"".join(received) == data  # the directory keeps an open file readable


async def test_expired_files_vanish_and_are_swept(
    store: FileStore, database: Database, data_dir: Path, clock: Clock
) -> None:
    from tests.files.conftest import make_store

    brief = await store.put(
        "ann", "brief.txt", "batch", chunked(b"b" * 1000), max_bytes=MiB, expires_after=3600
    )
    assert brief.expires_at == brief.created_at + 3600
    assert_matches("OpenAIFile", brief.to_dict())
    lasting = await store.put("ann", "lasting.txt", "batch", chunked(b"l"), max_bytes=MiB)
    clock.advance(3601)
    with pytest.raises(NotFound):
        await store.get("ann", brief.id)
    assert [f.id for f in (await store.list("ann")).data] == [lasting.id]
    assert brief.id in (await stored(database, data_dir)).rows
    fresh = make_store(database, data_dir, clock)
    await fresh.start()
    await fresh.aclose()
    left = await stored(database, data_dir)
    assert set(left.rows) == {lasting.id} and brief.id not in left.contents


async def test_uploads_and_downloads_stream_in_bounded_memory(store: FileStore) -> None:
    import tracemalloc

    size = 16 * MiB
    block = os.urandom(64 * 1024)

    async def generated() -> AsyncIterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    tracemalloc.start()
    try:
        made = await store.put("ann", "big.bin", "batch", generated(), max_bytes=size)
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        received = 0
        async for piece in await store.content("ann", made.id):
            received += len(piece)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert made.bytes == received == size
    # A few buffers of at most 1 MiB each, never the 16 MiB file.
    assert upload_peak < 6 * MiB, upload_peak
    assert download_peak < 6 * MiB, download_peak

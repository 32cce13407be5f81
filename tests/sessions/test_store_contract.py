"""One contract, every session backend: memory and Redis run the same tests."""

from __future__ import annotations

import asyncio

import pytest

from continuum.sessions.model import (
    Cursor,
    Done,
    Failed,
    Idle,
    Piece,
    Reset,
    Timings,
)
from tests.sessions.conftest import Backend, collect, spec

PIECES = ["Hello", ",\nworld", " — ünïcödé 🎉", "\n\n", "data: not a field\r\n", "", "end"]


def text_of(outcomes: list[object]) -> str:
    return "".join(o.text for o in outcomes if isinstance(o, Piece))


async def test_a_session_is_created_pending_with_its_spec(backend: Backend) -> None:
    store = await backend.make()
    made = spec(max_tokens=77, user_id="u1", chat_id="c1", resume_url="https://example.com/x")
    info = await store.create(made)
    found = await store.get(info.id)
    assert found is not None
    assert (found.id, found.spec, found.state, found.epoch, found.head) == (
        info.id,
        made,
        "pending",
        info.epoch,
        0,
    )
    assert found.start == Cursor(info.epoch, 0)
    assert await store.get("no-such-session") is None


async def test_exactly_one_caller_claims_the_generation_across_replicas(backend: Backend) -> None:
    replicas = [await backend.make() for _ in range(2)]
    info = await replicas[0].create(spec())
    results = await asyncio.gather(
        *(replicas[i % 2].try_start(info.id, f"producer-{i}") for i in range(20))
    )
    assert sorted(results) == [False] * 19 + [True]
    found = await replicas[1].get(info.id)
    assert found is not None and found.state == "running"
    assert not await replicas[0].try_start(info.id, "late")
    assert not await replicas[0].try_start("unknown", "late")


async def test_history_then_end_is_byte_exact_with_growing_offsets(backend: Backend) -> None:
    store = await backend.make()
    info = await store.create(spec())
    assert await store.try_start(info.id, "p")
    offsets = [await store.append(info.id, piece) for piece in PIECES]
    assert offsets == list(range(1, len(PIECES) + 1))
    assert await store.complete(info.id, 12, 34)
    outcomes = await collect(store.read(info.id))
    assert text_of(outcomes) == "".join(PIECES)
    assert [o.text for o in outcomes if isinstance(o, Piece)] == PIECES
    assert outcomes[-1] == Done(Cursor(info.epoch, len(PIECES) + 1), 12, 34)
    assert [o.cursor.offset for o in outcomes if isinstance(o, Piece | Done)] == list(
        range(1, len(PIECES) + 2)
    )
    found = await store.get(info.id)
    assert found is not None and (found.state, found.head) == ("done", len(PIECES) + 1)


async def test_reading_resumes_strictly_after_the_cursor(backend: Backend) -> None:
    store = await backend.make()
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    for piece in PIECES:
        await store.append(info.id, piece)
    await store.complete(info.id, 1, 2)
    for k in range(len(PIECES) + 1):
        rest = await collect(store.read(info.id, str(Cursor(info.epoch, k))))
        assert text_of(rest) == "".join(PIECES[k:])
        assert isinstance(rest[-1], Done)
    # The terminal entry's own cursor: nothing follows it, and the read ends at once.
    assert await collect(store.read(info.id, Cursor(info.epoch, len(PIECES) + 1))) == []


async def test_a_live_reader_gets_everything_appended_while_it_waits(backend: Backend) -> None:
    producer_side, reader_side = await backend.make(), await backend.make()
    info = await producer_side.create(spec())
    await producer_side.try_start(info.id, "p")
    readers = [asyncio.create_task(collect(reader_side.read(info.id))) for _ in range(7)]
    for piece in PIECES:
        await producer_side.append(info.id, piece)
        await asyncio.sleep(0.001)
    await producer_side.complete(info.id, 3, 4)
    for outcomes in await asyncio.gather(*readers):
        assert text_of(outcomes) == "".join(PIECES)
        assert isinstance(outcomes[-1], Done)


async def test_a_cursor_that_cannot_be_honoured_gets_an_explicit_reset(backend: Backend) -> None:
    store = await backend.make()
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    await store.append(info.id, "a")
    start = Cursor(info.epoch, 0)

    for garbage in ["", "abc", "nothex-3", f"{info.epoch}-x", f"{info.epoch}--1", "x" * 5000]:
        [reset] = await collect(store.read(info.id, garbage))
        assert isinstance(reset, Reset) and reset.reason == "invalid_cursor", garbage

    [reset] = await collect(store.read(info.id, "0123456789ab-1"))
    assert reset == Reset(reset.reason, reset.message, start)
    assert reset.reason == "stale_epoch"

    [reset] = await collect(store.read(info.id, Cursor(info.epoch, 5)))
    assert (reset.reason, reset.restart) == ("ahead", start)  # type: ignore[union-attr]

    [reset] = await collect(store.read("unknown-session", None))
    assert isinstance(reset, Reset) and reset.reason == "expired" and reset.restart is None
    [reset] = await collect(store.read("unknown-session", Cursor(info.epoch, 1)))
    assert isinstance(reset, Reset) and reset.reason == "expired"


async def test_the_log_has_one_end(backend: Backend) -> None:
    store = await backend.make()
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    await store.append(info.id, "x")
    results = await asyncio.gather(
        store.complete(info.id, 1, 1), store.fail(info.id, "boom", "e"), store.reap(info.id)
    )
    assert sum(results) == 1
    assert await store.append(info.id, "late") is None
    assert not await store.complete(info.id, 1, 1)
    assert not await store.heartbeat(info.id, "p")
    outcomes = await collect(store.read(info.id))
    assert [type(o) for o in outcomes] == [Piece, Done] or [type(o) for o in outcomes] == [
        Piece,
        Failed,
    ]


async def test_appends_need_a_started_session(backend: Backend) -> None:
    store = await backend.make()
    info = await store.create(spec())
    assert await store.append(info.id, "too early") is None
    assert await store.append("unknown", "x") is None
    assert not await store.complete("unknown", 1, 1)


async def test_a_failure_ends_the_log_with_its_message_and_code(backend: Backend) -> None:
    store = await backend.make()
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    await store.append(info.id, "partial ")
    assert await store.fail(info.id, "upstream broke: 502", "upstream_error")
    outcomes = await collect(store.read(info.id))
    assert outcomes == [
        Piece(Cursor(info.epoch, 1), "partial "),
        Failed(Cursor(info.epoch, 2), "upstream broke: 502", "upstream_error"),
    ]
    found = await store.get(info.id)
    assert found is not None and found.state == "failed"


async def test_a_dead_producer_ends_its_readers_with_an_error(backend: Backend) -> None:
    store = await backend.make(Timings(lease=0.3, check=0.05))
    info = await store.create(spec())
    assert await store.try_start(info.id, "doomed")
    await store.append(info.id, "half an ans")
    reader = asyncio.create_task(collect(store.read(info.id)))
    # The producer stops heartbeating (it died); its lease lapses.
    await backend.pass_time(0.4)
    outcomes = await asyncio.wait_for(reader, 10)
    assert text_of(outcomes) == "half an ans"
    assert isinstance(outcomes[-1], Failed) and outcomes[-1].code == "producer_lost"
    assert not await store.heartbeat(info.id, "doomed")


async def test_heartbeats_keep_a_slow_producer_alive(backend: Backend) -> None:
    store = await backend.make(Timings(lease=1.0, check=0.05))
    info = await store.create(spec())
    await store.try_start(info.id, "slow")
    for _ in range(4):  # 1.2 s in all, each step well inside one lease
        await backend.pass_time(0.3)
        assert await store.heartbeat(info.id, "slow")
        assert not await store.reap(info.id)
    assert not await store.heartbeat(info.id, "someone-else")
    await store.append(info.id, "ok")
    await store.complete(info.id, 1, 1)
    assert text_of(await collect(store.read(info.id))) == "ok"


async def test_appends_keep_a_producer_alive_without_heartbeats(backend: Backend) -> None:
    # A producer whose event loop is too busy to heartbeat on time, but still appends,
    # is alive: its readers must not reap it (1,000 sessions on one Redis-backed process
    # lost 33 answers this way before appends renewed the lease).
    store = await backend.make(Timings(lease=1.0, check=0.05))
    info = await store.create(spec())
    await store.try_start(info.id, "busy")
    for piece in ("a", "b", "c", "d"):  # 1.2 s in all, no heartbeat
        await backend.pass_time(0.3)
        assert await store.append(info.id, piece) is not None
        assert not await store.reap(info.id)
    await store.complete(info.id, 1, 1)
    assert text_of(await collect(store.read(info.id))) == "abcd"


async def test_an_unstarted_session_expires(backend: Backend) -> None:
    store = await backend.make(Timings(pending_ttl=0.3, retention=30, check=0.05))
    info = await store.create(spec())
    waiting = asyncio.create_task(collect(store.read(info.id)))
    await backend.pass_time(0.4)
    [reset] = await asyncio.wait_for(waiting, 10)
    assert isinstance(reset, Reset) and reset.reason == "expired"
    found = await store.get(info.id)
    assert found is not None and found.state == "expired"
    assert not await store.try_start(info.id, "too-late")


async def test_an_ended_session_is_kept_for_its_retention_then_dropped(backend: Backend) -> None:
    store = await backend.make(Timings(retention=0.5, check=0.05))
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    await store.append(info.id, "kept")
    await store.complete(info.id, 1, 1)
    assert text_of(await collect(store.read(info.id))) == "kept"
    await backend.pass_time(0.6)
    [reset] = await collect(store.read(info.id))
    assert isinstance(reset, Reset) and reset.reason == "expired"
    assert await store.get(info.id) is None


async def test_a_log_past_its_cap_ends_with_buffer_full(backend: Backend) -> None:
    store = await backend.make(Timings(max_entries=4, check=0.05))
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    assert [await store.append(info.id, "x") for _ in range(4)] == [1, 2, 3, None]
    outcomes = await collect(store.read(info.id))
    assert len(outcomes) == 4
    assert isinstance(outcomes[-1], Failed) and outcomes[-1].code == "buffer_full"


async def test_an_idle_reader_gets_heartbeat_ticks(backend: Backend) -> None:
    store = await backend.make(Timings(check=0.05))
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    reader = store.read(info.id, idle=0.05)
    async with asyncio.timeout(5):
        first = await anext(reader)
        second = await anext(reader)
    assert first == Idle() and second == Idle()
    await store.heartbeat(info.id, "p")
    await store.append(info.id, "tick")
    async with asyncio.timeout(5):
        while isinstance(outcome := await anext(reader), Idle):
            pass
    assert outcome == Piece(Cursor(info.epoch, 1), "tick")
    await reader.aclose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("count", [1500])
async def test_a_long_history_is_replayed_in_slices(backend: Backend, count: int) -> None:
    store = await backend.make()
    info = await store.create(spec())
    await store.try_start(info.id, "p")
    for i in range(count):
        await store.append(info.id, f"{i},")
    await store.complete(info.id, 1, count)
    outcomes = await collect(store.read(info.id, Cursor(info.epoch, 7)))
    assert text_of(outcomes) == "".join(f"{i}," for i in range(7, count))

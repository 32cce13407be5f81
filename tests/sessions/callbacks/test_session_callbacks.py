"""A stream's end and its callback are recorded together: memory sessions with the SQL
outbox, Redis sessions with the Redis outbox (in the script that ends the stream)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from continuum.errors import StateUnavailable
from continuum.sessions.callbacks.model import Outbox, delivery_id
from continuum.sessions.callbacks.sql import SqlOutbox
from continuum.sessions.memory import MemorySessionStore
from continuum.sessions.model import Done, Failed, Timings
from continuum.sessions.producer import Producer
from continuum.store.database import Database, database_url
from tests.sessions.callbacks.conftest import Receiver
from tests.sessions.callbacks.test_delivery import running, settled
from tests.sessions.conftest import Backend, collect, spec


@dataclass
class Pair:
    store: Any
    outbox: Outbox


@pytest.fixture(params=["memory+sqlite", "redis+redis"])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    timings = Timings(lease=0.3, check=0.05)
    if request.param == "memory+sqlite":
        database = Database(database_url(None, tmp_path))
        await database.migrate()
        outbox = SqlOutbox(database)
        yield Pair(MemorySessionStore(timings, outbox=outbox), outbox)
        await database.close()
        return
    backend = Backend(
        "redis", f"test:{uuid.uuid4().hex[:12]}:", redis_url=request.getfixturevalue("redis_url")
    )
    backend.outbox = backend.redis_outbox()
    yield Pair(await backend.make(timings), backend.outbox)
    await backend.close()


HOOK = "https://n8n.example.com/webhook-waiting/42"


async def test_completing_a_stream_records_its_callback(pair: Pair) -> None:
    store, outbox = pair.store, pair.outbox
    info = await store.create(
        spec("What is AI?", user_id="user_123", chat_id="chat_456", resume_url=HOOK)
    )
    await store.try_start(info.id, "p")
    pieces = ["AI is", " the study\n", "of agents — ✓"]
    for piece in pieces:
        await store.append(info.id, piece)
    assert await store.complete(info.id, 12, 3)
    record = await outbox.get(delivery_id(info.id))
    assert record is not None and record.state == "pending"
    d = record.delivery
    assert (d.id, d.session_id, d.url) == (f"msg_{info.id}", info.id, HOOK)
    p = d.payload
    assert (p.user_id, p.chat_id, p.prompt, p.answer) == (
        "user_123",
        "chat_456",
        "What is AI?",
        "".join(pieces),
    )
    assert (p.input_tokens, p.output_tokens, p.error_code, p.error_message) == (12, 3, None, None)
    assert [c.delivery.id for c in await outbox.claim("w", 10, 30)] == [d.id]


async def test_a_failed_stream_calls_back_with_the_error_and_partial_answer(pair: Pair) -> None:
    store, outbox = pair.store, pair.outbox
    info = await store.create(spec(resume_url=HOOK))
    await store.try_start(info.id, "p")
    await store.append(info.id, "half")
    await store.fail(info.id, "upstream broke", "upstream_error", 7, 1)
    record = await outbox.get(delivery_id(info.id))
    assert record is not None
    p = record.delivery.payload
    assert (p.user_id, p.chat_id, p.answer, p.input_tokens, p.output_tokens) == (
        None,
        None,
        "half",
        7,
        1,
    )
    assert (p.error_code, p.error_message) == ("upstream_error", "upstream broke")


async def test_a_dead_producer_calls_back_with_producer_lost(pair: Pair) -> None:
    store, outbox = pair.store, pair.outbox
    info = await store.create(spec(resume_url=HOOK))
    await store.try_start(info.id, "dies")
    await store.append(info.id, "so far")
    outcomes = await collect(store.read(info.id))  # the reader reaps it
    assert isinstance(outcomes[-1], Failed) and outcomes[-1].code == "producer_lost"
    record = await outbox.get(delivery_id(info.id))
    assert record is not None and record.delivery.payload.error_code == "producer_lost"


async def test_no_resume_url_no_callback(pair: Pair) -> None:
    info = await pair.store.create(spec())
    await pair.store.try_start(info.id, "p")
    await pair.store.complete(info.id, 1, 1)
    assert await pair.outbox.get(delivery_id(info.id)) is None


async def test_racing_ends_record_one_callback_matching_the_end(pair: Pair) -> None:
    store, outbox = pair.store, pair.outbox
    for _ in range(10):
        info = await store.create(spec(resume_url=HOOK))
        await store.try_start(info.id, "p")
        await store.append(info.id, "x")
        results = await asyncio.gather(
            store.complete(info.id, 1, 1),
            store.fail(info.id, "stop", "cancelled"),
            store.complete(info.id, 2, 2),
        )
        assert sum(results) == 1
        [*_, end] = await collect(store.read(info.id))
        record = await outbox.get(delivery_id(info.id))
        assert record is not None
        if isinstance(end, Done):
            assert record.delivery.payload.error_code is None
            assert record.delivery.payload.input_tokens == end.input_tokens
        else:
            assert record.delivery.payload.error_code == "cancelled"
    claimed = await outbox.claim("w", 100, 30)
    assert len(claimed) == 10


async def test_the_stream_does_not_end_without_its_callback() -> None:
    # PostgreSQL on a closed port: the outbox cannot record, so the end is not recorded either.
    outbox = SqlOutbox(Database("postgresql+asyncpg://postgres@127.0.0.1:1/test"))
    store = MemorySessionStore(Timings(check=0.05), outbox=outbox)
    info = await store.create(spec(resume_url=HOOK))
    await store.try_start(info.id, "p")
    await store.append(info.id, "x")
    with pytest.raises(StateUnavailable):
        await store.complete(info.id, 1, 1)
    found = await store.get(info.id)
    assert found is not None and (found.state, found.head) == ("running", 1)
    assert await store.append(info.id, "y") == 2  # still the producer's to finish


async def test_a_stream_and_its_callback_end_to_end(pair: Pair) -> None:
    store, outbox = pair.store, pair.outbox
    async with Receiver() as receiver, running(outbox):
        info = await store.create(
            spec("p", user_id="u", chat_id="c", resume_url=f"{receiver.url}/resume")
        )
        assert await store.try_start(info.id, "me")
        async with Producer(store, info.id, "me") as producer:
            for piece in ["one ", "two\n", "three"]:
                await producer.append(piece)
            await producer.complete(4, 3)
        await settled(outbox, delivery_id(info.id), "delivered")
    [got] = receiver.received
    assert got.id == f"msg_{info.id}"
    assert got.payload == {
        "userId": "u",
        "chatId": "c",
        "prompt": "p",
        "answer": "one two\nthree",
        "input_tokens": 4,
        "output_tokens": 3,
    }

"""One contract for every outbox: Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.sessions.callbacks.conftest import Outboxes, make_delivery
from tests.sessions.conftest import eventually


async def test_a_delivery_is_recorded_once_and_the_first_record_wins(outboxes: Outboxes) -> None:
    outbox = await outboxes.make()
    first = make_delivery("https://example.com/a")
    assert await outbox.enqueue(first)
    again = make_delivery("https://example.com/b", session_id=first.session_id, answer="other")
    assert not await outbox.enqueue(again)
    record = await outbox.get(first.id)
    assert record is not None
    assert (record.delivery.id, record.delivery.url, record.delivery.payload) == (
        first.id,
        "https://example.com/a",
        first.payload,
    )
    assert (record.state, record.attempts, record.last_status) == ("pending", 0, None)
    assert abs(record.delivery.created - first.created) < 1  # Redis records its own clock
    assert await outbox.get("msg_unknown") is None


async def test_a_claim_is_exclusive_until_its_lease_lapses(outboxes: Outboxes) -> None:
    a, b = await outboxes.make(), await outboxes.make()
    delivery = make_delivery("https://example.com/a", user_id=None, chat_id=None)
    await a.enqueue(delivery)
    results = await asyncio.gather(*(x.claim(f"w{i}", 10, 1.0) for i, x in enumerate([a, b] * 3)))
    claims = [c for claimed in results for c in claimed]
    assert len(claims) == 1 and claims[0].delivery.payload == delivery.payload
    assert claims[0].attempts == 0
    stale = claims[0]

    async def taken_over() -> bool:
        got = await b.claim("w-late", 10, 30)
        if got:
            taken.extend(got)
        return bool(got)

    taken: list[object] = []
    await eventually(taken_over)  # the first worker died: its lease lapses
    fresh = taken[0]
    assert fresh.token != stale.token  # type: ignore[attr-defined]
    # The first worker comes back: its outcome is refused, the new holder's stands.
    assert not await a.delivered(stale, 200)
    assert not await a.retry_later(stale, delay=1, error="x", status=500)
    assert await b.delivered(fresh, 204)  # type: ignore[arg-type]
    record = await a.get(delivery.id)
    assert record is not None and (record.state, record.last_status) == ("delivered", 204)
    assert record.attempts == 1
    assert await a.claim("w", 10, 1) == []


async def test_a_failed_attempt_is_due_again_after_its_delay(outboxes: Outboxes) -> None:
    outbox = await outboxes.make()
    delivery = make_delivery("https://example.com/a")
    await outbox.enqueue(delivery)
    [claim] = await outbox.claim("w", 10, 30)
    assert await outbox.retry_later(claim, delay=0.3, error="HTTP 500", status=500)
    record = await outbox.get(delivery.id)
    assert record is not None
    assert (record.state, record.attempts, record.last_status, record.last_error) == (
        "pending",
        1,
        500,
        "HTTP 500",
    )
    assert await outbox.claim("w", 10, 30) == []  # not due yet
    again: list[object] = []

    async def due() -> bool:
        again.extend(await outbox.claim("w", 10, 30))
        return bool(again)

    await eventually(due)
    assert again[0].attempts == 1  # type: ignore[attr-defined]


async def test_exhausted_deliveries_are_listed_and_can_be_requeued(outboxes: Outboxes) -> None:
    outbox = await outboxes.make()
    gone = [make_delivery(f"https://example.com/{i}") for i in range(3)]
    for delivery in gone:
        await outbox.enqueue(delivery)
    await outbox.enqueue(make_delivery("https://example.com/fine"))
    claims = await outbox.claim("w", 10, 30)
    assert len(claims) == 4
    for claim in claims:
        if claim.delivery.url.endswith("fine"):
            await outbox.delivered(claim, 200)
        else:
            assert await outbox.exhaust(claim, error="HTTP 503", status=503)
    listed = await outbox.exhausted()
    assert sorted(r.delivery.id for r in listed) == sorted(d.id for d in gone)
    assert all((r.state, r.last_status, r.attempts) == ("exhausted", 503, 1) for r in listed)
    assert len(await outbox.exhausted(limit=2)) == 2
    assert await outbox.claim("w", 10, 30) == []

    assert await outbox.requeue(gone[0].id)
    assert not await outbox.requeue(gone[0].id)  # pending now, not exhausted
    [claim] = await outbox.claim("w", 10, 30)
    assert claim.delivery.id == gone[0].id and claim.attempts == 0
    assert len(await outbox.exhausted()) == 2

"""The delivery worker against a real receiver on a real socket, on every outbox."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import orjson
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from continuum.errors import ConfigError
from continuum.sessions.callbacks.model import Outbox
from continuum.sessions.callbacks.sender import Sender
from continuum.sessions.callbacks.signing import Signer, generate_secret
from continuum.sessions.callbacks.worker import DeliveryWorker, RetryPolicy
from tests.sessions.callbacks.conftest import SECRET, Outboxes, Receiver, make_delivery
from tests.sessions.conftest import eventually

FAST = RetryPolicy(delays=(0.05, 0.05, 0.05), jitter=0.1)


@asynccontextmanager
async def running(
    outbox: Outbox, *, policy: RetryPolicy = FAST, send_timeout: float = 2.0, **options: object
) -> AsyncIterator[DeliveryWorker]:
    sender = Sender(Signer(SECRET), timeout=send_timeout, allow_private=True)
    worker = DeliveryWorker(outbox, sender, policy=policy, poll=0.05, **options)  # type: ignore[arg-type]
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


async def settled(outbox: Outbox, delivery_id: str, state: str) -> None:
    async def check() -> bool:
        record = await outbox.get(delivery_id)
        return record is not None and record.state == state

    await eventually(check)


async def test_a_callback_arrives_signed_with_seed_002s_payload(outboxes: Outboxes) -> None:
    outbox = await outboxes.make()
    async with Receiver() as receiver, running(outbox):
        delivery = make_delivery(f"{receiver.url}/webhook/resume")
        await outbox.enqueue(delivery)
        await settled(outbox, delivery.id, "delivered")
    [got] = receiver.received
    assert got.id == delivery.id and got.signature.startswith("v1,")
    assert got.payload == {
        "userId": "user123",
        "chatId": "chat123",
        "prompt": "Original prompt",
        "answer": "Complete AI response — ✓\nline two",
        "input_tokens": 123,
        "output_tokens": 456,
    }
    record = await outbox.get(delivery.id)
    assert record is not None and (record.attempts, record.last_status) == (1, 204)


async def test_failing_twice_then_succeeding_sends_one_id_three_times(outboxes: Outboxes) -> None:
    async def flaky(n: int, _request: web.Request) -> web.StreamResponse:
        return web.Response(status=500 if n <= 2 else 200)

    outbox = await outboxes.make()
    async with Receiver(behaviour=flaky) as receiver, running(outbox):
        delivery = make_delivery(f"{receiver.url}/hook")
        await outbox.enqueue(delivery)
        await settled(outbox, delivery.id, "delivered")
    assert receiver.ids() == [delivery.id] * 3
    assert all(r.payload is not None for r in receiver.received)  # every attempt verifies
    assert len({r.body for r in receiver.received}) == 1
    record = await outbox.get(delivery.id)
    assert record is not None and (record.attempts, record.last_status) == (3, 200)


async def test_a_receiver_that_never_answers_in_time_is_a_failure(outboxes: Outboxes) -> None:
    async def slow_first(n: int, _request: web.Request) -> web.StreamResponse:
        if n == 1:
            await asyncio.sleep(30)
        return web.Response(status=202)

    outbox = await outboxes.make()
    async with Receiver(behaviour=slow_first) as receiver, running(outbox, send_timeout=1.0):
        delivery = make_delivery(f"{receiver.url}/hook")
        await outbox.enqueue(delivery)
        await settled(outbox, delivery.id, "delivered")
    assert receiver.ids() == [delivery.id] * 2


async def test_exhausted_deliveries_are_recorded_for_an_admin(outboxes: Outboxes) -> None:
    async def broken(_n: int, _request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, headers={"retry-after": "0"})

    outbox = await outboxes.make()
    async with Receiver(behaviour=broken) as receiver, running(outbox):
        delivery = make_delivery(f"{receiver.url}/hook", user_id=None, error_code="upstream_error")
        await outbox.enqueue(delivery)
        await settled(outbox, delivery.id, "exhausted")
    assert receiver.ids() == [delivery.id] * FAST.attempts
    [listed] = await outbox.exhausted()
    assert (listed.delivery.id, listed.attempts, listed.last_status) == (delivery.id, 4, 503)
    assert listed.last_error == "HTTP 503"
    assert receiver.received[0].payload["userId"] is None
    assert receiver.received[0].payload["error"] == {"code": "upstream_error", "message": ""}


async def test_gone_410_gives_up_at_once_and_redirects_are_failures(outboxes: Outboxes) -> None:
    async def answers(_n: int, request: web.Request) -> web.StreamResponse:
        if request.path == "/gone":
            return web.Response(status=410)
        if request.path == "/moved":
            return web.Response(status=302, headers={"location": "/elsewhere"})
        return web.Response(status=200)

    outbox = await outboxes.make()
    policy = RetryPolicy(delays=(0.05,), jitter=0)
    async with Receiver(behaviour=answers) as receiver, running(outbox, policy=policy):
        gone = make_delivery(f"{receiver.url}/gone")
        moved = make_delivery(f"{receiver.url}/moved")
        await outbox.enqueue(gone)
        await outbox.enqueue(moved)
        await settled(outbox, gone.id, "exhausted")
        await settled(outbox, moved.id, "exhausted")
    assert receiver.ids().count(gone.id) == 1
    assert receiver.ids().count(moved.id) == 2  # a 302 is a failure, retried, never followed
    assert "/elsewhere" not in [r.body for r in receiver.received]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_ssrf_guard_is_applied_at_every_delivery(outboxes: Outboxes, host: str) -> None:
    outbox = await outboxes.make()
    async with Receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        sender = Sender(Signer(SECRET), timeout=2, allow_private=False)
        worker = DeliveryWorker(outbox, sender, policy=RetryPolicy(delays=(0.05,)), poll=0.05)
        worker.start()
        try:
            delivery = make_delivery(f"http://{host}:{port}/hook")
            await outbox.enqueue(delivery)
            await settled(outbox, delivery.id, "exhausted")
        finally:
            await worker.stop()
    assert receiver.received == []
    record = await outbox.get(delivery.id)
    assert record is not None and record.last_error is not None
    assert record.last_error.startswith("refused:") and "loopback" in record.last_error


async def test_two_workers_never_hold_one_delivery_at_once(outboxes: Outboxes) -> None:
    async def slow(_n: int, _request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.05)
        return web.Response(status=200)

    a, b = await outboxes.make(), await outboxes.make()
    async with Receiver(behaviour=slow) as receiver:
        deliveries = [make_delivery(f"{receiver.url}/hook/{i}") for i in range(30)]
        for delivery in deliveries:
            await a.enqueue(delivery)
        async with running(a, batch=4, worker_id="A"), running(b, batch=4, worker_id="B"):
            for delivery in deliveries:
                await settled(a, delivery.id, "delivered")
    assert sorted(receiver.ids()) == sorted(d.id for d in deliveries)  # each exactly once
    assert receiver.overlaps == []


def test_the_retry_schedule_has_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    assert policy.attempts == 8
    first = [policy.delay(1, None, rng) for _ in range(200)]
    assert 4.5 <= min(first) < max(first) <= 5.5 and len(set(first)) > 100
    assert 32_400 <= policy.delay(7, None, rng) <= 39_600
    assert policy.delay(1, 120.0, rng) == 120.0
    assert policy.delay(1, 10**9, rng) == 86_400


def test_secrets_are_whsec_and_rotation_signs_with_each() -> None:
    old, new = generate_secret(), generate_secret()
    body = orjson.dumps({"answer": "x"})
    headers = Signer([new, old]).headers("msg_1", 1_700_000_000, body)
    assert headers["webhook-timestamp"] == "1700000000"
    assert len(headers["webhook-signature"].split(" ")) == 2
    when = datetime.fromtimestamp(1_700_000_000, tz=UTC)
    for secret in (old, new):
        expected = Webhook(secret).sign("msg_1", when, body.decode())
        assert expected in headers["webhook-signature"].split(" ")
    for bad in ("plain-secret", "whsec_!!!notbase64", "whsec_" + "QUJD"):
        with pytest.raises(ConfigError):
            Signer(bad)

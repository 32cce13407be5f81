"""A worker killed with SIGKILL in the middle of a delivery loses nothing: once its
lease lapses, another worker delivers the same callback, with the same webhook-id."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aiohttp import web

from tests.sessions.callbacks.conftest import Outboxes, Receiver, make_delivery
from tests.sessions.callbacks.test_delivery import running, settled

ROOT = Path(__file__).resolve().parents[3]


async def test_a_delivery_survives_its_worker_being_killed(outboxes: Outboxes) -> None:
    async def hold_the_first(n: int, _request: web.Request) -> web.StreamResponse:
        if n == 1:
            await asyncio.sleep(60)  # the doomed worker waits here when it is killed
        return web.Response(status=200)

    outbox = await outboxes.make()
    async with Receiver(behaviour=hold_the_first) as receiver:
        delivery = make_delivery(f"{receiver.url}/webhook/resume")
        await outbox.enqueue(delivery)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.sessions.callbacks.worker_proc",
            *outboxes.worker_args(),
            cwd=ROOT,
        )
        try:
            await asyncio.wait_for(receiver.arrived.wait(), 30)
            child.send_signal(signal.SIGKILL)
            assert await child.wait() == -signal.SIGKILL
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        record = await outbox.get(delivery.id)
        assert record is not None and (record.state, record.attempts) == ("pending", 0)
        async with running(outbox, worker_id="survivor"):
            await settled(outbox, delivery.id, "delivered")
    assert receiver.ids() == [delivery.id, delivery.id]
    assert all(r.payload is not None for r in receiver.received)
    record = await outbox.get(delivery.id)
    assert record is not None and (record.state, record.attempts) == ("delivered", 1)

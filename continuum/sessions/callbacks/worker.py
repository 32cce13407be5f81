"""The delivery worker: claims due callbacks, sends them, records how it went.

Every replica runs one; the outbox's leases make sure a delivery is in one worker's
hands at a time. The lease is longer than an attempt can last (``Sender.timeout``),
so a live worker never loses a delivery it is sending; a worker that dies mid-attempt
leaves the lease to lapse, and another worker retries with the same ``webhook-id``.
Failures are retried on ``RetryPolicy``'s schedule (Svix's by default) with jitter;
a 410 or the last failure gives up and keeps the delivery for an admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass

from yarl import URL

from continuum.errors import ContinuumError
from continuum.sessions.callbacks.model import Claim, Outbox
from continuum.sessions.callbacks.sender import Attempt, Sender

log = logging.getLogger("continuum.callbacks")

# Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt (8 attempts, ~28 h).
SVIX_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``delays[k]`` is the wait after the ``k+1``-th failed attempt, spread by ±``jitter``."""

    delays: tuple[float, ...] = SVIX_DELAYS
    jitter: float = 0.1
    max_retry_after: float = 86400.0  # a receiver's Retry-After is honoured up to this

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1

    def delay(self, failed: int, retry_after: float | None, rng: random.Random) -> float:
        """The wait after ``failed`` attempts have failed (1-based)."""
        base = self.delays[min(failed, len(self.delays)) - 1]
        wait = base * (1 + rng.uniform(-self.jitter, self.jitter))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


class DeliveryWorker:
    """A background task delivering the outbox's due callbacks (``start``/``stop``)."""

    def __init__(
        self,
        outbox: Outbox,
        sender: Sender,
        *,
        worker_id: str | None = None,
        policy: RetryPolicy | None = None,
        lease: float | None = None,
        poll: float = 1.0,
        batch: int = 16,
        rng: random.Random | None = None,
    ):
        self.outbox = outbox
        self.sender = sender
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.policy = policy or RetryPolicy()
        self.lease = lease if lease is not None else sender.timeout * 2 + 10
        if self.lease <= sender.timeout:
            raise ValueError("the lease must outlast an attempt (lease > sender timeout)")
        self._poll = poll
        self._batch = batch
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Look for due deliveries now (e.g. right after a stream ended on this replica)."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"callbacks:{self.worker_id}")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming; let attempts in flight finish for ``grace`` seconds, then cancel
        them (their leases lapse and another worker, or the next start, retries)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self.sender.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.run_once()
            except ContinuumError as error:  # the outbox's store is down: try again later
                log.warning("callbacks: %s", error.message)
                sent = 0
            if sent == 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                self._wake.clear()

    async def run_once(self) -> int:
        """Claim and attempt one batch of due deliveries; returns how many were attempted."""
        claims = await self.outbox.claim(self.worker_id, self._batch, self.lease)
        if claims:
            await asyncio.gather(*(self._deliver(claim) for claim in claims))
        return len(claims)

    async def _deliver(self, claim: Claim) -> None:
        attempt = await self.sender.send(claim.delivery)
        try:
            await self._record(claim, attempt)
        except ContinuumError as error:  # the lease lapses and the delivery is retried
            log.warning("callbacks: recording %s failed: %s", claim.delivery.id, error.message)

    async def _record(self, claim: Claim, attempt: Attempt) -> None:
        delivery = claim.delivery
        if attempt.ok:
            assert attempt.status is not None
            await self.outbox.delivered(claim, attempt.status)
            return
        failed = claim.attempts + 1
        error = attempt.error or "failed"
        host = URL(delivery.url).host
        if attempt.status == 410 or failed >= self.policy.attempts:
            log.warning(
                "callbacks: giving up on %s to %s after %d attempts: %s",
                delivery.id,
                host,
                failed,
                error,
            )
            await self.outbox.exhaust(claim, error=error, status=attempt.status)
            return
        delay = self.policy.delay(failed, attempt.retry_after, self._rng)
        log.info(
            "callbacks: %s to %s failed (%s); retry in %.1f s", delivery.id, host, error, delay
        )
        await self.outbox.retry_later(claim, delay=delay, error=error, status=attempt.status)

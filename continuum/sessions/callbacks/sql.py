"""The callback outbox in SQL (SQLite by default, PostgreSQL when configured).

Used when Redis is not: the memory session store writes a stream's delivery here
before the stream's end becomes visible. A claim is a conditional ``UPDATE … WHERE
state = 'pending' AND next_at <= now`` that moves ``next_at`` to the end of the lease
and records a token: the row lock (PostgreSQL) or the single writer (SQLite) lets
exactly one worker's update match; the others find it not due. Outcomes are fenced
by the token. Times are this replica's wall clock.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from continuum.sessions.callbacks.model import (
    CallbackPayload,
    Claim,
    Delivery,
    DeliveryRecord,
)
from continuum.store.database import Database, state_errors
from continuum.store.tables import callbacks as table

WHAT = "the callback outbox"
PRUNE_EVERY = 3600.0  # seconds between sweeps of settled deliveries past ``keep``


def _payload_json(payload: CallbackPayload) -> str:
    return orjson.dumps(
        {
            "user_id": payload.user_id,
            "chat_id": payload.chat_id,
            "prompt": payload.prompt,
            "answer": payload.answer,
            "input_tokens": payload.input_tokens,
            "output_tokens": payload.output_tokens,
            "error_code": payload.error_code,
            "error_message": payload.error_message,
        }
    ).decode()


def _record(row: Row[Any]) -> DeliveryRecord:
    delivery = Delivery(
        row.id, row.session_id, row.url, CallbackPayload(**orjson.loads(row.payload)), row.created
    )
    return DeliveryRecord(
        delivery,
        row.state,
        row.attempts,
        row.next_at if row.state == "pending" else None,
        row.last_status,
        row.last_error,
        row.updated,
    )


class SqlOutbox:
    """``Outbox`` on the SQL database (see ``continuum.sessions.callbacks.model``)."""

    def __init__(
        self,
        database: Database,
        *,
        keep: float = 7 * 86400,
        clock: Callable[[], float] = time.time,
    ):
        self.keep = keep  # settled deliveries are deleted this long after their last change
        self._db = database
        self._clock = clock
        self._pruned = 0.0

    async def enqueue(self, delivery: Delivery) -> bool:
        now = self._clock()
        row = {
            "id": delivery.id,
            "session_id": delivery.session_id,
            "url": delivery.url,
            "payload": _payload_json(delivery.payload),
            "state": "pending",
            "attempts": 0,
            "next_at": now,
            "created": delivery.created,
            "updated": now,
        }
        with state_errors(WHAT):
            try:
                async with self._db.engine.begin() as conn:
                    await conn.execute(insert(table), row)
            except IntegrityError:
                return False  # the first record of this delivery wins
        return True

    async def claim(self, worker: str, limit: int, lease: float) -> list[Claim]:
        now = self._clock()
        token = f"{worker}:{uuid.uuid4().hex[:12]}"
        claims = []
        with state_errors(WHAT):
            await self._prune(now)
            async with self._db.engine.connect() as conn:
                due = (
                    await conn.execute(
                        select(table.c.id)
                        .where(table.c.state == "pending", table.c.next_at <= now)
                        .order_by(table.c.next_at)
                        .limit(limit)
                    )
                ).all()
            for (delivery_id,) in due:
                async with self._db.engine.begin() as conn:
                    row = (
                        await conn.execute(
                            update(table)
                            .where(
                                table.c.id == delivery_id,
                                table.c.state == "pending",
                                table.c.next_at <= now,
                            )
                            .values(lease=token, next_at=now + lease)
                            .returning(*table.c)
                        )
                    ).first()
                if row is not None:
                    claims.append(Claim(_record(row).delivery, row.attempts, token))
        return claims

    async def _settle(self, claim: Claim, **values: Any) -> bool:
        values |= {"lease": None, "updated": self._clock()}
        with state_errors(WHAT):
            async with self._db.engine.begin() as conn:
                result = await conn.execute(
                    update(table)
                    .where(table.c.id == claim.delivery.id, table.c.lease == claim.token)
                    .values(attempts=table.c.attempts + 1, **values)
                )
        return result.rowcount == 1

    async def delivered(self, claim: Claim, status: int) -> bool:
        return await self._settle(
            claim, state="delivered", next_at=None, last_status=status, last_error=None
        )

    async def retry_later(
        self, claim: Claim, *, delay: float, error: str, status: int | None
    ) -> bool:
        return await self._settle(
            claim, next_at=self._clock() + delay, last_status=status, last_error=error
        )

    async def exhaust(self, claim: Claim, *, error: str, status: int | None) -> bool:
        return await self._settle(
            claim, state="exhausted", next_at=None, last_status=status, last_error=error
        )

    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        with state_errors(WHAT):
            async with self._db.engine.connect() as conn:
                row = (await conn.execute(select(table).where(table.c.id == delivery_id))).first()
        return None if row is None else _record(row)

    async def exhausted(self, limit: int = 100) -> list[DeliveryRecord]:
        query = (
            select(table)
            .where(table.c.state == "exhausted")
            .order_by(table.c.updated.desc())
            .limit(limit)
        )
        with state_errors(WHAT):
            async with self._db.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [_record(row) for row in rows]

    async def requeue(self, delivery_id: str) -> bool:
        now = self._clock()
        with state_errors(WHAT):
            async with self._db.engine.begin() as conn:
                result = await conn.execute(
                    update(table)
                    .where(table.c.id == delivery_id, table.c.state == "exhausted")
                    .values(state="pending", attempts=0, next_at=now, updated=now, lease=None)
                )
        return result.rowcount == 1

    async def _prune(self, now: float) -> None:
        if now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        async with self._db.engine.begin() as conn:
            await conn.execute(
                delete(table).where(table.c.state != "pending", table.c.updated < now - self.keep)
            )

    async def aclose(self) -> None:
        return None

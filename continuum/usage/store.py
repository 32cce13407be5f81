"""Usage records in SQL: bulk inserts from the ledger, totals by user, model and day."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from sqlalchemy import func, insert, select

from continuum.core.ports import UsageRecord
from continuum.store.database import Database, state_errors
from continuum.store.tables import usage


def utc_day(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


@dataclass(frozen=True, slots=True)
class Total:
    user_id: str
    day: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class UsageStore:
    """Usage records in the SQL database; failures are ``StateUnavailable``."""

    def __init__(self, database: Database):
        self._db = database

    async def insert(self, records: list[UsageRecord]) -> None:
        rows = [asdict(record) | {"day": utc_day(record.created)} for record in records]
        with state_errors("the usage ledger"):
            async with self._db.engine.begin() as conn:
                await conn.execute(insert(usage), rows)

    async def count(self) -> int:
        with state_errors("the usage ledger"):
            async with self._db.engine.connect() as conn:
                return int(await conn.scalar(select(func.count()).select_from(usage)) or 0)

    async def totals(self, user_id: str | None) -> list[Total]:
        """Totals per user, UTC day and model; of one user unless ``user_id`` is ``None``."""
        query = (
            select(
                usage.c.user_id,
                usage.c.day,
                usage.c.model,
                func.count(),
                func.sum(usage.c.prompt_tokens),
                func.sum(usage.c.completion_tokens),
            )
            .group_by(usage.c.user_id, usage.c.day, usage.c.model)
            .order_by(usage.c.user_id, usage.c.day, usage.c.model)
        )
        if user_id is not None:
            query = query.where(usage.c.user_id == user_id)
        with state_errors("the usage ledger"):
            async with self._db.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [Total(r[0], r[1], r[2], int(r[3]), int(r[4] or 0), int(r[5] or 0)) for r in rows]

"""Usage records in SQL: bulk inserts from the ledger, totals by user, model and day."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError

from continuum.core.ports import UsageRecord
from continuum.errors import StateUnavailable
from continuum.store.database import Database, state_errors
from continuum.store.tables import usage
from continuum.usage.fit import fit

log = logging.getLogger("continuum.usage")
# ``StateUnavailable.code`` when the database refused the records themselves (not its
# connection): the ledger then isolates the record at fault instead of retrying them all.
REFUSED = "usage_record_refused"
# Errors that say "this data", never "this database": SQLSTATE classes 22 (data
# exception) and 23 (integrity), and values a driver cannot encode.
_DATA_STATES = ("22", "23")
_DATA_ERRORS = (DataError, IntegrityError, ValueError, OverflowError, TypeError, UnicodeError)


def refused_as_data(error: BaseException) -> bool:
    """Whether a failed insert was refused for its data (anything else: unavailable)."""
    seen: BaseException | None = error
    for _ in range(8):  # the driver's error, SQLAlchemy's wrapper, and their causes
        if seen is None:
            return False
        if isinstance(seen, _DATA_ERRORS):
            return True
        state = getattr(seen, "sqlstate", None) or getattr(
            getattr(seen, "orig", None), "sqlstate", None
        )
        if isinstance(state, str) and state[:2] in _DATA_STATES:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return False


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
        dialect = sqlite if database.is_sqlite else postgresql
        # A record already written (its ``entry`` is there) is skipped, not an error.
        self._insert = dialect.insert(usage).on_conflict_do_nothing(index_elements=["entry"])
        self.fitted = 0  # records cut or cleaned to fit their columns

    def _rows(self, records: list[UsageRecord], origin: str | None) -> list[dict[str, Any]]:
        rows = []
        for record in records:
            row, changed = fit(record)
            if changed:
                self.fitted += 1
                if self.fitted == 1:  # once; the count is a metric
                    log.warning(
                        "usage ledger: record %s cut to fit its columns (later ones are counted)",
                        row["request_id"],
                    )
            row["day"] = utc_day(record.created)
            row["entry"] = f"{origin}-{record.seq}" if origin and record.seq else None
            rows.append(row)
        return rows

    async def insert(self, records: list[UsageRecord], origin: str | None = None) -> None:
        """Write ``records`` in one transaction; each at most once when ``origin`` is given
        (the key is ``origin-seq``, as the ledger numbers them).

        Raises ``StateUnavailable``: with ``code == REFUSED`` when the database refused the
        data itself, so that retrying the same batch can never succeed.
        """
        rows = self._rows(records, origin)
        try:
            with state_errors("the usage ledger"):
                async with self._db.engine.begin() as conn:
                    await conn.execute(self._insert, rows)
        except StateUnavailable as error:
            if refused_as_data(error.__cause__ or error):
                raise StateUnavailable(
                    f"the usage ledger refused a record ({type(error.__cause__).__name__})",
                    code=REFUSED,
                ) from error.__cause__
            raise
        except _DATA_ERRORS as error:  # raised by a driver while encoding, before SQL
            raise StateUnavailable(
                f"the usage ledger refused a record ({type(error).__name__})", code=REFUSED
            ) from error

    async def request_ids(self) -> set[str]:
        """Every recorded request id (for tests and benchmarks that match records)."""
        with state_errors("the usage ledger"):
            async with self._db.engine.connect() as conn:
                return set((await conn.execute(select(usage.c.request_id))).scalars())

    async def count(self) -> int:
        with state_errors("the usage ledger"):
            async with self._db.engine.connect() as conn:
                return int(await conn.scalar(select(func.count()).select_from(usage)) or 0)

    async def days(self, user_id: str | None = None, since: str | None = None) -> list[str]:
        """The UTC days (``YYYY-MM-DD``) with usage, from ``since`` on, in order."""
        query = select(usage.c.day).distinct().order_by(usage.c.day)
        if user_id is not None:
            query = query.where(usage.c.user_id == user_id)
        if since is not None:
            query = query.where(usage.c.day >= since)
        with state_errors("the usage ledger"):
            async with self._db.engine.connect() as conn:
                return [str(day) for day in (await conn.execute(query)).scalars()]

    async def totals(
        self, user_id: str | None, since: str | None = None, until: str | None = None
    ) -> list[Total]:
        """Totals per user, UTC day and model; of one user unless ``user_id`` is ``None``;
        of the days from ``since`` to ``until`` (both included) when given."""
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
        if since is not None:
            query = query.where(usage.c.day >= since)
        if until is not None:
            query = query.where(usage.c.day <= until)
        with state_errors("the usage ledger"):
            async with self._db.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        return [Total(r[0], r[1], r[2], int(r[3]), int(r[4] or 0), int(r[5] or 0)) for r in rows]

"""One bad usage record never blocks the good ones (issue 9, item 1), on SQLite and PostgreSQL.

Before: ``continuum_usage.model``/``user_id`` are ``VARCHAR(256)``; a 604-character
model or a 300-character user name made PostgreSQL refuse the batch, which went back to
the head of the queue and failed every 0.5 s for ever, so no later record was written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from continuum.app import open_database
from continuum.core.ports import UsageRecord
from continuum.settings import Settings
from continuum.store.database import Database
from continuum.store.tables import usage
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore


@pytest.fixture
async def database(database_settings: dict[str, object]) -> AsyncIterator[Database]:
    db = open_database(Settings.from_env({}, **database_settings))
    await db.migrate()
    yield db
    await db.close()


def record(request_id: str, *, user: str = "ann", model: str = "m", tokens: int = 5) -> UsageRecord:
    return UsageRecord(
        request_id, user, "key_1", model, "local/echo", 3, tokens, 1.0, 0.5, 200, None, time.time()
    )


async def rows(database: Database) -> dict[str, tuple[str, str, int]]:
    async with database.engine.connect() as conn:
        query = select(
            usage.c.request_id, usage.c.user_id, usage.c.model, usage.c.completion_tokens
        )
        return {r[0]: (r[1], r[2], r[3]) for r in (await conn.execute(query)).all()}


async def test_oversized_fields_are_cut_to_fit_and_the_batch_goes_in(database: Database) -> None:
    ledger = BatchingLedger(UsageStore(database), interval=60)
    ledger.record(record("before"))
    ledger.record(record("long-model", model="gpt-" + "x" * 600))
    ledger.record(record("long-user", user="u" * 300))
    ledger.record(record("nul", model="gpt-\x00zero"))
    ledger.record(record("huge", tokens=2**40))
    ledger.record(record("after"))
    await ledger.flush()
    written = await rows(database)
    assert set(written) == {"before", "long-model", "long-user", "nul", "huge", "after"}
    assert written["long-model"][1] == ("gpt-" + "x" * 600)[:256]
    assert written["long-user"][0] == "u" * 256
    assert written["nul"][1] == "gpt-zero"
    assert written["huge"][2] == 2**31 - 1
    assert (ledger.fitted, ledger.rejected, ledger.write_failures, ledger.backlog) == (4, 0, 0, 0)


async def _poison(database: Database) -> None:
    """Make the database itself refuse one model (as it would some value we cannot foresee)."""
    async with database.engine.begin() as conn:
        if database.is_sqlite:
            await conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON continuum_usage WHEN NEW.model = 'poison'"
                " BEGIN SELECT RAISE(ABORT, 'poisoned record'); END"
            )
        else:
            await conn.exec_driver_sql(
                "ALTER TABLE continuum_usage ADD CONSTRAINT poison CHECK (model <> 'poison')"
            )


async def test_a_record_the_database_refuses_is_set_aside_and_the_rest_written(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await _poison(database)
    dead_letter = tmp_path / "usage-rejected.jsonl"
    ledger = BatchingLedger(UsageStore(database), interval=60, dead_letter=dead_letter)
    for index in range(10):
        ledger.record(record(f"good-{index}"))
        if index == 6:
            ledger.record(record("bad", model="poison"))
    with caplog.at_level(logging.ERROR, logger="continuum.usage"):
        await ledger.flush()
    assert set(await rows(database)) == {f"good-{i}" for i in range(10)}
    assert (ledger.rejected, ledger.write_failures, ledger.backlog) == (1, 0, 0)
    assert [r.getMessage() for r in caplog.records if "refused" in r.getMessage()] == [
        f"usage ledger: the database refused record bad (IntegrityError); kept in {dead_letter}"
    ]
    kept = [orjson.loads(line) for line in dead_letter.read_bytes().splitlines()]
    assert [(k["request_id"], k["model"]) for k in kept] == [("bad", "poison")]
    assert dead_letter.stat().st_mode & 0o777 == 0o600
    # Nothing is stuck: the next records go in at the next flush.
    ledger.record(record("later"))
    await ledger.flush()
    assert "later" in await rows(database) and ledger.rejected == 1

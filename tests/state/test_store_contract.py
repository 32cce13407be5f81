"""One contract for every store backend: the ledger and the key store on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from continuum.app import open_database
from continuum.auth.chain import KeyChain
from continuum.auth.keys import StaticKeys
from continuum.auth.store import KeyStore
from continuum.core.context import Principal
from continuum.core.ports import UsageRecord
from continuum.errors import AuthenticationFailed
from continuum.settings import Settings
from continuum.store.database import MIGRATIONS, Database
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore


@pytest.fixture
async def database(database_settings: dict[str, object]) -> AsyncIterator[Database]:
    db = open_database(Settings.from_env({}, **database_settings))
    assert await db.migrate() == len(MIGRATIONS)
    yield db
    await db.close()


def record(
    user: str, model: str, *, day: float, prompt: int = 3, completion: int = 5
) -> UsageRecord:
    return UsageRecord(
        "req", user, "key_1", model, "local/echo", prompt, completion, 12.5, 1.5, 200, None, day
    )


async def test_migrations_are_idempotent(database: Database) -> None:
    assert await database.migrate() == len(MIGRATIONS)
    assert await database.migrate() == len(MIGRATIONS)


async def test_ledger_batches_and_flushes_everything_on_close(database: Database) -> None:
    store = UsageStore(database)
    ledger = BatchingLedger(store, interval=60, batch=10)  # only size or close can flush
    await ledger.start()
    for _ in range(10):
        ledger.record(record("ann", "m1", day=time.time()))
    for _ in range(500):  # a full batch wakes the writer at once
        if await store.count() == 10:
            break
        await asyncio.sleep(0.01)
    assert await store.count() == 10
    for _ in range(5):
        ledger.record(record("ann", "m1", day=time.time()))
    for _ in range(20):
        await asyncio.sleep(0)  # the writer could run, were it woken
    assert ledger.backlog == 5  # not a full batch, and the interval is far away
    assert await store.count() == 10
    await ledger.close()
    assert await store.count() == 15


async def test_totals_group_by_user_model_and_day(database: Database) -> None:
    store = UsageStore(database)
    day1, day2 = 1_795_000_000.0, 1_795_000_000.0 + 86400
    await store.insert(
        [
            record("ann", "m1", day=day1),
            record("ann", "m1", day=day1, completion=10),
            record("ann", "m2", day=day1),
            record("ann", "m1", day=day2),
            record("bob", "m1", day=day1),
        ]
    )
    totals = await store.totals("ann")
    assert [(t.day, t.model, t.requests, t.prompt_tokens, t.completion_tokens) for t in totals] == [
        ("2026-11-18", "m1", 2, 6, 15),
        ("2026-11-18", "m2", 1, 3, 5),
        ("2026-11-19", "m1", 1, 3, 5),
    ]
    assert {t.user_id for t in await store.totals(None)} == {"ann", "bob"}


async def test_key_lifecycle(database: Database) -> None:
    keys = KeyStore(database)
    key, info = await keys.create(
        name="ci", owner="team-a", permissions=["m1"], rate_limit=["5/minute"]
    )
    assert key.startswith("ck-") and (await keys.find(key)) == info
    assert info.public()["permissions"] == ["m1"] and "key" not in info.public()
    principal = info.principal()
    assert principal.id == "team-a" and principal.may_use("m1") and not principal.may_use("m2")
    assert [str(limit) for limit in principal.limits] == ["5 requests/minute"]
    changed = await keys.update(
        info.id, permissions=None, rate_limit=["1 tokens/second"], name="ci2"
    )
    assert changed is not None and changed.permissions is None and changed.name == "ci2"
    assert [k.id for k in await keys.list()] == [info.id]
    revoked = await keys.revoke(info.id)
    assert revoked is not None and not revoked.active(time.time())
    assert await keys.get("key_missing") is None
    with pytest.raises(ValueError):
        await keys.create(name="bad", owner="x", rate_limit=["lots"])


async def test_the_chain_refuses_revoked_and_expired_keys_within_its_ttl(
    database: Database,
) -> None:
    keys = KeyStore(database)
    static = StaticKeys([("users-yml-key-0000000001", Principal("yml", "yml"))])
    first, second = KeyChain(static, keys, ttl=0.3), KeyChain(static, keys, ttl=0.3)  # two replicas
    key, info = await keys.create(name="k", owner="o")
    assert (await first.authenticate(key)).key_id == info.id
    assert (await second.authenticate(key)).key_id == info.id
    assert (await first.authenticate("users-yml-key-0000000001")).id == "yml"
    await keys.revoke(info.id)  # through "first"'s replica
    started = time.monotonic()
    while True:
        try:
            await second.authenticate(key)
        except AuthenticationFailed as error:
            assert error.code == "key_revoked"
            break
        assert time.monotonic() - started < 1.0
        await asyncio.sleep(0.02)
    expiring, _ = await keys.create(name="short", owner="o", expires=time.time() - 1)
    with pytest.raises(AuthenticationFailed) as caught:
        await first.authenticate(expiring)
    assert caught.value.code == "key_expired"
    with pytest.raises(AuthenticationFailed):
        await first.authenticate("ck-never-issued")


async def test_replicas_starting_together_migrate_one_fresh_database(
    database_settings: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Workers (or replicas) of a new deployment all migrate at once at start: none fails."""
    for _ in range(8):
        settings = dict(database_settings)
        if "database_url" not in settings:  # SQLite: a fresh file each time
            settings["data_dir"] = tmp_path_factory.mktemp("fresh")
        replicas = [open_database(Settings.from_env({}, **settings)) for _ in range(3)]
        try:
            versions = await asyncio.gather(*(db.migrate() for db in replicas))
        finally:
            for db in replicas:
                await db.close()
        assert versions == [len(MIGRATIONS)] * 3
        if "database_url" in settings:
            break  # one PostgreSQL schema per test: it is fresh only once

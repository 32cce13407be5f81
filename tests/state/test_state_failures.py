"""A database that fails is ``StateUnavailable`` (503), and the gateway keeps serving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import openai
import pytest

from continuum.app import build_gateway, create_app
from continuum.auth.store import KeyStore
from continuum.core.ports import UsageRecord
from continuum.errors import StateUnavailable
from continuum.settings import Settings
from continuum.store.database import Database
from continuum.testing.server import free_port, serve_in_thread
from continuum.usage.ledger import BatchingLedger
from continuum.usage.store import UsageStore
from tests.services import postgres_url

KEY = "sk-state-failures-000000001"


def dead_database() -> Database:
    return Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none")


def entry() -> UsageRecord:
    return UsageRecord("r", "u", None, "m", None, 1, 2, 3.0, None, 200, None, 0.0)


async def test_an_unreachable_database_is_state_unavailable() -> None:
    database = dead_database()
    try:
        with pytest.raises(StateUnavailable):
            await KeyStore(database).find("ck-anything")
        with pytest.raises(StateUnavailable):
            await UsageStore(database).totals(None)
    finally:
        await database.close()


async def test_a_ledger_that_cannot_write_keeps_and_counts() -> None:
    database = dead_database()
    ledger = BatchingLedger(UsageStore(database), interval=60)
    try:
        ledger.record(entry())
        ledger.record(entry())
        await ledger.flush()
        assert (ledger.write_failures, ledger.backlog, ledger.dropped) == (1, 2, 0)
    finally:
        await database.close()


@pytest.fixture
def schema() -> Iterator[tuple[str, str]]:
    url = postgres_url()
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield url, name

    async def drop() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


def test_the_gateway_answers_503_and_keeps_serving_when_its_database_breaks(
    schema: tuple[str, str], tmp_path: Path
) -> None:
    url, name = schema
    (tmp_path / "users.yml").write_text(
        f'users:\n  - token: "{KEY}"\n    name: "yml"\n    permissions: "*"\n'
    )
    settings = Settings.from_env(
        {}, config_dir=tmp_path, data_dir=tmp_path, database_url=url, database_schema=name
    )
    gateway = build_gateway(settings)
    with serve_in_thread(create_app(gateway=gateway)) as base:
        asyncio.run(_drop_tables(url, name))  # the database loses its tables under us
        unknown = httpx.get(f"{base}/v1/models", headers={"authorization": "Bearer ck-run-time"})
        assert unknown.status_code == 503
        assert unknown.json()["error"]["code"] == "state_unavailable"
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)
        reply = client.chat.completions.create(
            model="local-echo", messages=[{"role": "user", "content": "still here"}]
        )
        assert reply.choices[0].message.content == "still here"  # users.yml keys still work
        usage = httpx.get(f"{base}/usage", headers={"authorization": f"Bearer {KEY}"})
        assert usage.status_code == 503
        assert gateway.ledger.write_failures >= 1 and gateway.ledger.backlog >= 1
        client.close()


async def _drop_tables(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP TABLE "{schema}".continuum_keys, "{schema}".continuum_usage')
    finally:
        await conn.close()

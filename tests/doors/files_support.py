"""What the Files API tests share: a backend's settings, and a look below the store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from continuum.app import open_database
from continuum.settings import Settings
from tests.files.conftest import Stored, stored


@contextmanager
def backend(kind: str, data_dir: Path) -> Iterator[dict[str, Any]]:
    """Settings overrides for ``sqlite`` (files in a directory) or ``postgres`` (chunk rows
    in a schema of their own, dropped afterwards; a loud skip without PostgreSQL)."""
    if kind == "sqlite":
        yield {"data_dir": data_dir}
        return
    import asyncpg

    from tests.services import postgres_url

    url = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield {"data_dir": data_dir, "database_url": url, "database_schema": schema}
    finally:

        async def drop() -> None:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()

        asyncio.run(drop())


def storage(settings: Settings) -> Stored:
    """Every row, every stored content and every unfinished write, as the store keeps them."""

    async def look() -> Stored:
        database = open_database(settings)
        try:
            return await stored(database, settings.data_dir)
        finally:
            await database.close()

    return asyncio.run(look())

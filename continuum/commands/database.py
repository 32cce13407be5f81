"""The configured database, for the commands that work on it without a running gateway
(CONTINUUM_DATABASE_URL, else the SQLite file under the data dir)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from continuum.settings import Settings

if TYPE_CHECKING:
    from continuum.store.database import Database

T = TypeVar("T")


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="state directory with the SQLite file (default ./data)"
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL URL (default CONTINUUM_DATABASE_URL, else SQLite)"
    )


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        data_dir=getattr(args, "data_dir", None), database_url=getattr(args, "database_url", None)
    )


async def with_database(
    settings: Settings, work: Callable[[Database], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run ``work`` on the database (its schema brought up to date first, unless told not
    to), and close it."""
    # Imported here: every `continuum` command parses its arguments first, and the
    # gateway's modules would add a second to the start of `continuum chat`.
    from continuum.app import open_database

    database = open_database(settings)
    try:
        if migrate:
            await database.migrate()
        return await work(database)
    finally:
        await database.close()

"""``continuum db upgrade``: apply the database migrations the gateway would apply at start."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from continuum.commands.database import add_database_options, settings_of, with_database
from continuum.commands.exits import EPILOG, OK
from continuum.commands.progress import Progress

if TYPE_CHECKING:
    from continuum.store.database import Database


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = commands.add_parser(
        "db",
        help="database maintenance (upgrade)",
        description="Database maintenance on CONTINUUM_DATABASE_URL, else <data dir>/continuum.db.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = db.add_subparsers(dest="action", required=True, metavar="{upgrade}")
    upgrade = actions.add_parser(
        "upgrade",
        help="apply pending migrations and say which",
        description="Apply the pending migrations (safe beside running gateways) and print "
        "each one applied, then the schema version. Progress on stderr at a terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    upgrade.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_database_options(upgrade)
    db.set_defaults(handler=db_command)


async def _upgrade(args: argparse.Namespace, database: Database) -> int:
    from continuum.store.database import MIGRATIONS

    applied: list[tuple[int, str]] = []
    with Progress("migrating", total=len(MIGRATIONS)) as progress:

        def step(number: int, description: str, done_now: bool) -> None:
            if done_now:
                applied.append((number, description))
            progress.step(f"{number} {description}")

        version = await database.migrate(step)
    if args.json:
        body = {"version": version, "applied": [{"version": n, "migration": d} for n, d in applied]}
        print(json.dumps(body))
        return OK
    for number, description in applied:
        print(f"applied {number}: {description}")
    if not applied:
        print("nothing to apply")
    print(f"schema at version {version}")
    return OK


def db_command(args: argparse.Namespace) -> int:
    return asyncio.run(
        with_database(settings_of(args), lambda db: _upgrade(args, db), migrate=False)
    )

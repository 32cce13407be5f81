"""``continuum db upgrade`` and ``continuum keys create|list|revoke``: state from the shell.

They work on the configured database directly (CONTINUUM_DATABASE_URL, else the SQLite
file under the data dir), so they need no running gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from continuum.settings import Settings

if TYPE_CHECKING:
    from continuum.store.database import Database


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="apply pending migrations")
    keys = commands.add_parser("keys", help="manage run-time API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key (printed once)")
    create.add_argument("--name", required=True)
    create.add_argument("--owner", help="the user the key acts as (default: the name)")
    create.add_argument("--models", help="comma-separated model ids (default: every model)")
    create.add_argument(
        "--rate-limit", action="append", default=[], help='e.g. "10/minute"; repeatable'
    )
    create.add_argument("--ttl", type=float, help="seconds until the key expires")
    create.add_argument("--admin", action="store_true", help="may use the admin API")
    actions.add_parser("list", help="list keys (never the keys themselves)")
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")


async def _with_db(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    # Imported here: every `continuum` command parses these arguments, and the gateway's
    # modules would add a second to the start of `continuum chat`.
    from continuum.app import open_database

    database = open_database(settings)
    try:
        await database.migrate()
        return await work(database)
    finally:
        await database.close()


async def _keys(args: argparse.Namespace, database: Database) -> int:
    from continuum.auth.store import KeyStore

    store = KeyStore(database)
    if args.action == "create":
        key, info = await store.create(
            name=args.name,
            owner=args.owner or args.name,
            permissions=args.models.split(",") if args.models else None,
            rate_limit=args.rate_limit,
            expires=time.time() + args.ttl if args.ttl else None,
            admin=args.admin,
        )
        print(f"id: {info.id}\nkey: {key}\n(the key is shown only this once)")
        return 0
    if args.action == "list":
        for info in await store.list():
            state = (
                "active" if info.active(time.time()) else ("revoked" if info.revoked else "expired")
            )
            models = ",".join(info.permissions) if info.permissions is not None else "*"
            print(f"{info.id}\t{info.name}\t{info.owner}\t{models}\t{state}")
        return 0
    if await store.revoke(args.id) is None:
        print(f"no key {args.id}")
        return 1
    print(f"revoked {args.id}")
    return 0


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(data_dir=getattr(args, "data_dir", None))
    if args.command == "db":

        async def upgrade(database: Database) -> int:
            print(f"schema at version {await database.migrate()}")
            return 0

        return asyncio.run(_with_db(settings, upgrade))
    return asyncio.run(_with_db(settings, lambda database: _keys(args, database)))

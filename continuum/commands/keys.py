"""``continuum keys create|list|revoke``: run-time API keys, straight in the database.

They need no running gateway: every gateway on the database honours a new key at once
and a revocation within its key cache's half second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING

from continuum.commands.database import add_database_options, settings_of, with_database
from continuum.commands.exits import EPILOG, FAILED, OK

if TYPE_CHECKING:
    from continuum.auth.store import KeyInfo
    from continuum.store.database import Database


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = commands.add_parser(
        "keys",
        help="manage run-time API keys (create, list, revoke)",
        description="Manage the run-time API keys in the gateway's database "
        "(CONTINUUM_DATABASE_URL, else <data dir>/continuum.db). users.yml's keys are "
        "configuration, not listed here.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = keys.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
    create = actions.add_parser(
        "create", help="create a key (printed once)", description="Create a key; printed once."
    )
    create.add_argument("--name", required=True, help="a name for the key")
    create.add_argument("--owner", help="the user the key acts as (default: the name)")
    create.add_argument("--models", help="comma-separated model ids (default: every model)")
    create.add_argument(
        "--rate-limit", action="append", default=[], help='e.g. "10/minute"; repeatable'
    )
    create.add_argument("--ttl", type=float, help="seconds until the key expires")
    create.add_argument("--admin", action="store_true", help="may use the admin API")
    listing = actions.add_parser(
        "list",
        help="list keys (never the keys themselves)",
        description="List the keys: id, name, owner, models, state. Never the keys.",
    )
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout")
    revoke = actions.add_parser(
        "revoke", help="revoke a key by id", description="Revoke a key by its id (exit 1 if none)."
    )
    revoke.add_argument("id", help="the key's id, as `keys create` or `keys list` shows it")
    for parser in (create, listing, revoke):
        add_database_options(parser)
        parser.epilog = EPILOG
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
    keys.set_defaults(handler=keys_command)


def _state(info: KeyInfo, now: float) -> str:
    if info.active(now):
        return "active"
    return "revoked" if info.revoked else "expired"


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
        return OK
    if args.action == "list":
        now = time.time()
        infos = await store.list()
        if args.json:
            rows = [
                {
                    "id": info.id,
                    "name": info.name,
                    "owner": info.owner,
                    "models": list(info.permissions) if info.permissions is not None else None,
                    "state": _state(info, now),
                }
                for info in infos
            ]
            print(json.dumps(rows, indent=2))
            return OK
        for info in infos:
            models = ",".join(info.permissions) if info.permissions is not None else "*"
            print(f"{info.id}\t{info.name}\t{info.owner}\t{models}\t{_state(info, now)}")
        return OK
    if await store.revoke(args.id) is None:
        print(f"continuum keys revoke: no key {args.id}", file=sys.stderr)
        return FAILED
    print(f"revoked {args.id}")
    return OK


def keys_command(args: argparse.Namespace) -> int:
    return asyncio.run(with_database(settings_of(args), lambda db: _keys(args, db)))

"""``continuum usage``: a table of usage by user, model and UTC day, from the ledger.

    continuum usage --since 7d --user alice
    continuum usage --json | jq ...

It reads the ledger's database (CONTINUUM_DATABASE_URL, else <data dir>/continuum.db)
directly, a batch of days at a time, so a large ledger shows its progress on a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from typing import TYPE_CHECKING

from continuum.commands.database import add_database_options, settings_of, with_database
from continuum.commands.exits import EPILOG, OK
from continuum.commands.progress import Progress

if TYPE_CHECKING:
    from continuum.store.database import Database
    from continuum.usage.store import Total

DAYS_PER_QUERY = 31
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AGO = re.compile(r"^(\d{1,5})d$")
HEADERS = ("user", "model", "day", "requests", "prompt", "completion", "total")


def since_day(value: str) -> str:
    """``YYYY-MM-DD``, or ``Nd`` (N days ago, UTC; ``0d`` is today), as a UTC day."""
    if _DAY.match(value):
        time.strptime(value, "%Y-%m-%d")  # a real date, or ValueError (a usage error)
        return value
    ago = _AGO.match(value)
    if ago is None:
        raise argparse.ArgumentTypeError(f"{value!r}: give YYYY-MM-DD or a number of days, e.g. 7d")
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() - int(ago[1]) * 86400))


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    usage = commands.add_parser(
        "usage",
        help="a table of usage by user, model and day (from the ledger)",
        description="Usage from the ledger, one row per user, model and UTC day: requests "
        "and tokens. Progress on stderr at a terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    usage.add_argument(
        "--since", type=since_day, help="from this UTC day: YYYY-MM-DD, or 7d for a week back"
    )
    usage.add_argument("--user", help="only this user (the id the ledger records)")
    usage.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_database_options(usage)
    usage.set_defaults(handler=usage_command)


async def _totals(args: argparse.Namespace, database: Database) -> list[Total]:
    from continuum.usage.store import UsageStore

    store = UsageStore(database)
    days = await store.days(args.user, args.since)
    rows: list[Total] = []
    with Progress("reading usage", total=len(days)) as progress:
        for start in range(0, len(days), DAYS_PER_QUERY):
            batch = days[start : start + DAYS_PER_QUERY]
            rows += await store.totals(args.user, since=batch[0], until=batch[-1])
            progress.step(f"days (to {batch[-1]})", advance=len(batch))
    rows.sort(key=lambda row: (row.user_id, row.model, row.day))
    return rows


def _table(rows: list[Total]) -> list[str]:
    cells = [HEADERS] + [
        (
            r.user_id,
            r.model,
            r.day,
            str(r.requests),
            str(r.prompt_tokens),
            str(r.completion_tokens),
            str(r.total_tokens),
        )
        for r in rows
    ]
    cells.append(
        (
            "total",
            "",
            "",
            str(sum(r.requests for r in rows)),
            str(sum(r.prompt_tokens for r in rows)),
            str(sum(r.completion_tokens for r in rows)),
            str(sum(r.total_tokens for r in rows)),
        )
    )
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    numeric = range(3, len(HEADERS))
    return [
        "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


def usage_command(args: argparse.Namespace) -> int:
    # The schema is brought up to date first, as a gateway does at start (a ledger made
    # by an older version has every column the query names).
    rows = asyncio.run(with_database(settings_of(args), lambda db: _totals(args, db)))
    if args.json:
        data = [
            {
                "user": r.user_id,
                "model": r.model,
                "day": r.day,
                "requests": r.requests,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "total_tokens": r.total_tokens,
            }
            for r in rows
        ]
        print(json.dumps({"since": args.since, "user": args.user, "data": data}, indent=2))
        return OK
    if not rows:
        print("no usage recorded" + (f" since {args.since}" if args.since else ""))
        return OK
    print("\n".join(_table(rows)))
    return OK

"""A process that uploads files until it is killed: ``python -m tests.files.uploader SETTINGS``.

SETTINGS is JSON of Settings overrides (``data_dir``, ``database_url``…). Modes:

* ``big``: three small files, then one endless upload; prints ``BIG`` once 4 MiB of it
  are stored and goes on sending.
* ``busy``: uploads of varied sizes one after another, forever.

Before each upload it prints ``BEGIN <filename> <sha256>``, after it ``DONE <id>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from continuum.app import open_database
from continuum.settings import Settings
from tests.files.conftest import chunked, make_store

MiB = 1 << 20


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def endless() -> AsyncIterator[bytes]:
    sent = 0
    block = b"\xab" * 65_536
    while True:
        yield block
        sent += len(block)
        if sent == 4 * MiB:
            say("BIG")
        await asyncio.sleep(0)


async def main(overrides: dict[str, str], mode: str) -> None:
    settings = Settings.from_env({}, **{**overrides, "data_dir": Path(overrides["data_dir"])})
    database = open_database(settings)
    await database.migrate()
    store = make_store(database, settings.data_dir)
    await store.start()
    rng = random.Random(7)
    n = 0
    while True:
        if mode == "big" and n == 3:
            say("BEGIN big.bin -")
            await store.put("ann", "big.bin", "batch", endless(), max_bytes=1 << 40)
        data = rng.randbytes(rng.choice((0, 10, 70_000, 300_000, 1_500_000)))
        name = f"{n}.bin"
        say(f"BEGIN {name} {hashlib.sha256(data).hexdigest()}")
        made = await store.put("ann", name, "batch", chunked(data, 65_536), max_bytes=1 << 30)
        say(f"DONE {made.id}")
        n += 1


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1]), sys.argv[2]))

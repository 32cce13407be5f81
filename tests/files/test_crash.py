"""A process killed with SIGKILL mid-upload: a fresh store's listing and contents agree."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from continuum.app import open_database
from continuum.settings import Settings
from tests.files.conftest import make_store, read_all, stored

ROOT = Path(__file__).resolve().parents[2]


def run_until_killed(
    overrides: dict[str, Any], mode: str, log: Path
) -> tuple[dict[str, str], list[str]]:
    """Run the uploader, kill it at the mode's moment; what it began and what it finished."""
    begun: dict[str, str] = {}
    done: list[str] = []
    with log.open("wb") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.files.uploader", json.dumps(overrides), mode],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert child.stdout is not None
        reached = False
        try:
            for line in child.stdout:
                word, *rest = line.split()
                if word == "BEGIN":
                    begun[rest[0]] = rest[1]
                elif word == "DONE":
                    done.append(rest[0])
                if (mode == "big" and word == "BIG") or (mode == "busy" and len(done) == 12):
                    reached = True
                    break
        finally:
            child.kill()  # SIGKILL: no cleanup code of the child runs
            child.wait()
            child.stdout.close()
    assert reached, f"the uploader stopped early: {log.read_text()}"
    return begun, done


@pytest.mark.parametrize("mode", ["big", "busy"])
def test_sigkill_mid_upload_leaves_a_consistent_store(
    database_settings: dict[str, Any], tmp_path: Path, mode: str
) -> None:
    overrides = {key: str(value) for key, value in database_settings.items()}
    begun, done = run_until_killed(overrides, mode, tmp_path / "uploader.log")
    assert "big.bin" in begun if mode == "big" else len(done) == 12

    async def check() -> None:
        settings = Settings.from_env({}, **database_settings)
        database = open_database(settings)
        await database.migrate()
        # No other process is uploading now, so any unfinished upload is a dead one.
        options = {} if database.is_sqlite else {"stale_after": 0}
        store = make_store(database, settings.data_dir, **options)
        debris = await stored(database, settings.data_dir)
        if mode == "big":  # the killed upload did leave something behind to sweep
            assert debris.temporary or "uploading" in debris.rows.values()
        await store.start()
        try:
            listed = (await store.list("ann")).data
            listed_ids = {f.id for f in listed}
            assert set(done) <= listed_ids  # nothing acknowledged is lost
            assert len(listed_ids - set(done)) <= 1  # at most the upload in flight, whole
            assert "big.bin" not in {f.filename for f in listed}
            for item in listed:
                body = await read_all(store, "ann", item.id)
                assert len(body) == item.bytes
                assert hashlib.sha256(body).hexdigest() == begun[item.filename]
            left = await stored(database, settings.data_dir)
            assert left.rows == dict.fromkeys(listed_ids, "processed")
            assert left.contents <= listed_ids  # no contents without a listing
            assert {f.id for f in listed if f.bytes} <= left.contents  # nor the reverse
            assert left.temporary == set()
        finally:
            await store.aclose()
            await database.close()

    asyncio.run(check())

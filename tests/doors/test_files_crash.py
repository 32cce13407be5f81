"""A gateway killed with SIGKILL during uploads: a fresh store's listing and contents agree.

``continuum serve`` runs as a child process. Three uploads are acknowledged, then two
more are in flight when it is killed: one streaming into the store (``purpose`` first,
as the SDKs send it) and one being spooled (``purpose`` after the file, as curl sends
it). Afterwards exactly the acknowledged files are listed, whole, and nothing else is
left once the store has started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from continuum.app import open_database
from continuum.settings import Settings
from continuum.testing.process import gateway_process
from tests.doors.files_support import storage
from tests.files.conftest import make_store, read_all, stored

KEY = "sk-test-files-crash-0123456789"
OWNER = "ann"  # users.yml names the key's principal: the owner of its files
MiB = 1 << 20


class Endless:
    """A multipart body that never ends, counting what it has handed to the socket."""

    def __init__(self, purpose_first: bool):
        self.purpose_first = purpose_first
        self.sent = 0
        self.stop = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        purpose = b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        if self.purpose_first:
            yield purpose
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="endless.bin"\r\n\r\n'
        block = b"\xab" * (256 * 1024)
        while not self.stop.is_set() and self.sent < 512 * MiB:
            yield block
            self.sent += len(block)


def send(url: str, body: Endless) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server dies under it: that is the point
        httpx.post(
            f"{url}/v1/files",
            content=iter(body),
            headers={
                "authorization": f"Bearer {KEY}",
                "content-type": "multipart/form-data; boundary=B",
            },
            timeout=30,
        )


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_sigkill_during_uploads_leaves_a_consistent_store(
    database_settings: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "users.yml").write_text(f'users:\n  - {{token: "{KEY}", name: "{OWNER}"}}\n')
    settings = Settings.from_env({}, config_dir=config, **database_settings)
    env = {"CONTINUUM_MAX_FILE_BYTES": str(1 << 30)}
    if settings.database_url:
        env["CONTINUUM_DATABASE_URL"] = settings.database_url
        env["CONTINUUM_DATABASE_SCHEMA"] = str(settings.database_schema)
    args = ("--config-dir", str(config), "--data-dir", str(settings.data_dir))
    acknowledged: dict[str, bytes] = {}
    with gateway_process(*args, env=env) as gateway:
        auth = {"authorization": f"Bearer {KEY}"}
        for n in range(3):
            data = os.urandom(300_000 * n + 7)
            made = httpx.post(
                f"{gateway.url}/v1/files",
                headers=auth,
                files={"file": (f"{n}.bin", data)},
                data={"purpose": "batch"},
            )
            assert made.status_code == 200, made.text
            acknowledged[made.json()["id"]] = data
        direct, spooled = Endless(purpose_first=True), Endless(purpose_first=False)
        senders = [
            threading.Thread(target=send, args=(gateway.url, body)) for body in (direct, spooled)
        ]
        for thread in senders:
            thread.start()

        def in_flight() -> bool:
            debris = storage(settings)
            return bool(debris.temporary or "uploading" in debris.rows.values())

        wait_for(lambda: direct.sent > 4 * MiB and spooled.sent > 4 * MiB, "both uploads")
        wait_for(in_flight, "the direct upload to reach the store")
        gateway.process.kill()  # SIGKILL: no cleanup code of the gateway runs
        gateway.process.wait()
    for body in (direct, spooled):
        body.stop.set()
    for thread in senders:
        thread.join(timeout=30)

    async def check() -> None:
        database = open_database(settings)
        await database.migrate()
        # No other process is uploading now, so any unfinished upload is a dead one.
        store = make_store(
            database, settings.data_dir, **({} if database.is_sqlite else {"stale_after": 0})
        )
        debris = await stored(database, settings.data_dir)
        assert debris.temporary or "uploading" in debris.rows.values()  # the kill left some
        await store.start()
        try:
            listed = (await store.list(OWNER)).data
            assert {f.id for f in listed} == set(acknowledged)
            for item in listed:
                whole = await read_all(store, OWNER, item.id)
                assert (
                    hashlib.sha256(whole).digest() == hashlib.sha256(acknowledged[item.id]).digest()
                )
                assert item.bytes == len(whole)
        finally:
            await store.aclose()
            await database.close()

    asyncio.run(check())
    after = storage(settings)
    assert set(after.rows) == set(acknowledged) == after.contents
    assert set(after.rows.values()) == {"processed"} and after.temporary == set()
    # The spool was an anonymous temporary file: the kill left no name behind.
    assert [p.name for p in settings.data_dir.iterdir() if p.name.startswith("tmp")] == []

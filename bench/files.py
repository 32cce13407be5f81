"""Upload and download throughput of ``/v1/files`` through the gateway, beside the store alone.

    .venv/bin/python -m bench.files [--mib 64] [--repeats 5] [--no-postgres]

For each store (a directory beside SQLite; chunk rows in PostgreSQL when one answers
on 127.0.0.1:5432), it runs ``continuum serve`` in a child process and moves one file
of ``--mib`` MiB up (``curl -F purpose=batch -F file=@…``) and down (``curl -o
/dev/null``) ``--repeats`` times; uploads the same file into the ASGI app in-process
(no socket, no client) for the door's own cost; and does the same with the store alone
(``put`` from memory, ``content`` read to the end). Reports median MiB/s. curl shares
the machine's two cores with the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text

from continuum.app import open_database
from continuum.files import DatabaseFileStore, DirectoryFileStore, FileStore
from continuum.settings import Settings
from continuum.testing.process import gateway_process

KEY = "bench-files-0123456789"
MiB = 1 << 20
BLOCK = 256 * 1024
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def _body(size: int) -> Iterator[bytes]:
    yield b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
    yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\n\r\n'
    block = b"\x5a" * BLOCK
    for _ in range(size // BLOCK):
        yield block
    yield b"\r\n--B--\r\n"


def _rate(size: int, started: float) -> float:
    return size / MiB / (time.perf_counter() - started)


def _curl(*args: str) -> float:
    """Run curl; the seconds it took (its own ``time_total``)."""
    done = subprocess.run(
        ["curl", "-sS", "--fail-with-body", "-w", "%{time_total}", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(done.stdout)  # the body went to the -o file


def through_gateway(
    env: dict[str, str], size: int, repeats: int
) -> tuple[list[float], list[float]]:
    """MiB/s up and down through ``continuum serve`` with curl as the client."""
    up, down = [], []
    with tempfile.TemporaryDirectory() as home:
        config = Path(home)
        (config / "users.yml").write_text(f'users:\n  - {{token: "{KEY}", name: "bench"}}\n')
        source = config / "bench.bin"
        with source.open("wb") as out:
            for block in _blocks_sync(size):
                out.write(block)
        args = ("--config-dir", str(config), "--data-dir", str(config / "data"))
        env = {**env, "CONTINUUM_MAX_FILE_BYTES": str(size + MiB), "CONTINUUM_LOG_LEVEL": "warning"}
        auth = f"Authorization: Bearer {KEY}"
        answer = config / "answer.json"
        with gateway_process(*args, env=env) as gateway:
            for _ in range(repeats):
                # purpose first, as the SDKs send it: the file streams straight to the store
                seconds = _curl(
                    "-o", str(answer), "-H", auth, "-F", "purpose=batch",
                    "-F", f"file=@{source}", f"{gateway.url}/v1/files",
                )  # fmt: skip
                up.append(size / MiB / seconds)
                file_id = json.loads(answer.read_text())["id"]
                url = f"{gateway.url}/v1/files/{file_id}"
                down.append(size / MiB / _curl("-o", "/dev/null", "-H", auth, f"{url}/content"))
                _curl("-o", "/dev/null", "-X", "DELETE", "-H", auth, url)
    return up, down


def _blocks_sync(size: int) -> Iterator[bytes]:
    block = b"\x5a" * BLOCK
    for _ in range(size // BLOCK):
        yield block


async def _blocks(size: int) -> AsyncIterator[bytes]:
    block = b"\x5a" * BLOCK
    for _ in range(size // BLOCK):
        yield block


async def store_alone(
    overrides: dict[str, Any], size: int, repeats: int
) -> tuple[list[float], list[float]]:
    """MiB/s of the same store in-process: ``put`` from memory, ``content`` to the end."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.from_env({}, data_dir=Path(home), **overrides)
        database = open_database(settings)
        await database.migrate()
        store: FileStore
        if database.is_sqlite:
            store = DirectoryFileStore(database, settings.data_dir / "files")
        else:
            store = DatabaseFileStore(database)
        await store.start()
        up, down = [], []
        try:
            for _ in range(repeats):
                started = time.perf_counter()
                made = await store.put("bench", "bench.bin", "batch", _blocks(size), size + MiB)
                up.append(_rate(size, started))
                started = time.perf_counter()
                got = 0
                async for piece in await store.content("bench", made.id):
                    got += len(piece)
                assert got == size
                down.append(_rate(size, started))
                await store.delete("bench", made.id)
        finally:
            await store.aclose()
            await database.close()
    return up, down


def _scope(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {KEY}".encode()), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
        "app": app,
    }


async def _upload_asgi(app: Any, size: int) -> int:
    """One upload into the app, its body in 256 KiB messages; the response status."""
    pieces = _body(size)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        body = next(pieces, None)
        if body is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"multipart/form-data; boundary=B")]
    await app(_scope(app, "POST", "/v1/files", headers), receive, send)
    status: int = sent[0]["status"]
    return status


async def in_process(
    overrides: dict[str, Any], size: int, repeats: int
) -> tuple[list[float], float]:
    """MiB/s of uploads into the ASGI app itself (no socket, no client), and the process
    CPU seconds per GiB."""
    from continuum.app import create_app

    rates, cpu = [], 0.0
    with tempfile.TemporaryDirectory() as home:
        config = Path(home)
        (config / "users.yml").write_text(f'users:\n  - {{token: "{KEY}", name: "bench"}}\n')
        settings = Settings.from_env(
            {}, config_dir=config, data_dir=config / "data", max_file_bytes=size + MiB, **overrides
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            for _ in range(repeats):
                started, used = time.perf_counter(), time.process_time()
                status = await _upload_asgi(app, size)
                rates.append(_rate(size, started))
                cpu += time.process_time() - used
                assert status == 200, status
    return rates, cpu / repeats / (size / (1 << 30))


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


async def _drop(schema: str) -> None:
    database = open_database(Settings.from_env({}, database_url=POSTGRES))
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await database.close()


def line(name: str, samples: list[float]) -> str:
    spread = f"(min {min(samples):,.0f}, max {max(samples):,.0f})"
    return f"{name:<44} median {statistics.median(samples):>8,.0f} MiB/s  {spread}"


def main(mib: int, repeats: int, postgres: bool) -> None:
    size = mib * MiB
    backends: list[tuple[str, dict[str, str], dict[str, Any]]] = [("directory (SQLite)", {}, {})]
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    if postgres and _postgres_reachable():
        backends.append(
            (
                "PostgreSQL chunk rows",
                {"CONTINUUM_DATABASE_URL": POSTGRES, "CONTINUUM_DATABASE_SCHEMA": schema},
                {"database_url": POSTGRES, "database_schema": schema},
            )
        )
    elif postgres:
        print("PostgreSQL is not reachable on 127.0.0.1:5432: directory store only")
    print(f"one {mib} MiB file, {repeats} repeats, medians")
    try:
        for name, env, overrides in backends:
            up, down = through_gateway(env, size, repeats)
            alone_up, alone_down = asyncio.run(store_alone(overrides, size, repeats))
            asgi, cpu_per_gib = asyncio.run(in_process(overrides, size, repeats))
            print(line(f"{name}: upload through the gateway", up))
            print(line(f"{name}: upload into the ASGI app, in-process", asgi))
            print(f"{name}: upload into the ASGI app: {cpu_per_gib:.2f} CPU s per GiB")
            print(line(f"{name}: upload, store alone", alone_up))
            print(line(f"{name}: download through the gateway", down))
            print(line(f"{name}: download, store alone", alone_down))
            print(
                f"{name}: gateway/store ratio: upload "
                f"{statistics.median(up) / statistics.median(alone_up):.2f}, download "
                f"{statistics.median(down) / statistics.median(alone_down):.2f}"
            )
    finally:
        if len(backends) > 1:
            asyncio.run(_drop(schema))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    main(args.mib, args.repeats, not args.no_postgres)

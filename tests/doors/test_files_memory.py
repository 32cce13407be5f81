"""A 32 MiB file goes up and comes down through the gateway without being held whole.

The gateway runs in this process (a thread), so ``tracemalloc`` sees its allocations as
well as the client's: the peak over a whole upload and download stays a small fraction
of the file, on both stores.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread
from tests.doors.files_support import backend

KEY = "sk-test-files-memory-0123456789"
MiB = 1 << 20
SIZE = 32 * MiB
BLOCK = 64 * 1024


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("memory-config")
    (config / "users.yml").write_text(
        f'users:\n  - {{token: "{KEY}", name: "m", permissions: []}}\n'
    )
    with backend(request.param, tmp_path_factory.mktemp("memory-data")) as overrides:
        settings = Settings.from_env({}, config_dir=config, max_file_bytes=64 * MiB, **overrides)
        with serve_in_thread(create_app(settings)) as served:
            yield served


def blocks(digest: hashlib._Hash) -> Iterator[bytes]:
    yield b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
    yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    for n in range(SIZE // BLOCK):
        block = n.to_bytes(4, "big") * (BLOCK // 4)
        digest.update(block)
        yield block
    yield b"\r\n--B--\r\n"


def test_upload_and_download_are_streamed(url: str) -> None:
    auth = {"authorization": f"Bearer {KEY}"}
    sent = hashlib.sha256()
    with httpx.Client(base_url=f"{url}/v1", headers=auth, timeout=60) as client:
        client.get("/files")  # warm up: imports, pools, the first connection
        tracemalloc.start()
        try:
            made = client.post(
                "/files",
                content=blocks(sent),
                headers={"content-type": "multipart/form-data; boundary=B"},
            )
            assert made.status_code == 200, made.text
            upload_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            received = hashlib.sha256()
            size = 0
            with client.stream("GET", f"/files/{made.json()['id']}/content") as download:
                assert download.headers["content-length"] == str(SIZE)
                for piece in download.iter_bytes():
                    received.update(piece)
                    size += len(piece)
            download_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert made.json()["bytes"] == SIZE == size
    assert received.digest() == sent.digest()
    assert upload_peak < 8 * MiB, upload_peak
    assert download_peak < 8 * MiB, download_peak

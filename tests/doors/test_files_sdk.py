"""``/v1/files`` through the official ``openai`` SDK (and curl) on a real socket, over both
file stores: a directory beside SQLite, and chunk rows in PostgreSQL.

Every body is validated against the official schemas (``OpenAIFile``,
``ListFilesResponse``, ``DeleteFileResponse``, ``ErrorResponse``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread
from tests.doors.files_support import backend, storage
from tests.files.conftest import Stored
from tests.openapi_schemas import assert_matches

OWNER_KEY = "sk-test-files-owner-0123456789"
OTHER_KEY = "sk-test-files-other-0123456789"
LISTER_KEY = "sk-test-files-lister-0123456789"
LIMITED_KEY = "sk-test-files-limited-0123456789"
MAX_FILE = 256 * 1024

USERS = f"""
users:
  - {{token: "{OWNER_KEY}", name: "owner", permissions: "*", rate_limit: "10000/minute"}}
  - {{token: "{OTHER_KEY}", name: "other", permissions: "*"}}
  - {{token: "{LISTER_KEY}", name: "lister", permissions: []}}
  - {{token: "{LIMITED_KEY}", name: "limited", permissions: "*", rate_limit: "3/minute"}}
"""


@dataclass(frozen=True)
class Files:
    url: str
    settings: Settings

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def client(self, key: str = OWNER_KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.v1, api_key=key, max_retries=0)

    def post(
        self, key: str = OWNER_KEY, headers: dict[str, str] | None = None, **options: Any
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}", **(headers or {})}
        return httpx.post(f"{self.v1}/files", headers=headers, **options)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def files(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Files]:
    config = tmp_path_factory.mktemp("files-config")
    (config / "users.yml").write_text(USERS)
    with backend(request.param, tmp_path_factory.mktemp("files-data")) as overrides:
        settings = Settings.from_env({}, config_dir=config, max_file_bytes=MAX_FILE, **overrides)
        with serve_in_thread(create_app(settings)) as url:
            yield Files(url, settings)


def error_of(response: httpx.Response, status: int, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert_matches("ErrorResponse", body)
    if param is not None:
        assert body["error"]["param"] == param
    return body["error"]


def test_upload_list_retrieve_download_delete(files: Files) -> None:
    data = b'{"prompt": "hello"}\n' * 100
    with files.client() as client:
        raw = client.files.with_raw_response.create(file=("train.jsonl", data), purpose="fine-tune")
        assert_matches("OpenAIFile", raw.http_response.json())
        made = raw.parse()
        assert (made.filename, made.bytes, made.purpose, made.status) == (
            "train.jsonl",
            len(data),
            "fine-tune",
            "processed",
        )
        assert made.id.startswith("file-") and made.expires_at is None

        listed = client.files.with_raw_response.list()
        assert_matches("ListFilesResponse", listed.http_response.json())
        assert made.id in [f.id for f in listed.parse().data]

        fetched = client.files.with_raw_response.retrieve(made.id)
        assert_matches("OpenAIFile", fetched.http_response.json())
        assert fetched.parse() == made

        content = client.files.content(made.id)
        assert content.content == data
        assert content.response.headers["content-length"] == str(len(data))
        assert content.response.headers["content-type"] == "application/octet-stream"
        assert "train.jsonl" in content.response.headers["content-disposition"]

        gone = client.files.with_raw_response.delete(made.id)
        assert_matches("DeleteFileResponse", gone.http_response.json())
        assert gone.parse().deleted is True and gone.parse().id == made.id

        for call in (client.files.retrieve, client.files.content, client.files.delete):
            with pytest.raises(openai.NotFoundError) as caught:
                call(made.id)
            assert_matches("ErrorResponse", caught.value.response.json())
            assert made.id in caught.value.message
        assert made.id not in [f.id for f in client.files.list().data]


def test_files_belong_to_their_key(files: Files) -> None:
    with files.client() as owner, files.client(OTHER_KEY) as other:
        made = owner.files.create(file=("mine.txt", b"private words"), purpose="assistants")
        for call in (other.files.retrieve, other.files.content, other.files.delete):
            with pytest.raises(openai.NotFoundError) as caught:
                call(made.id)
            # The same answer as for a file that does not exist: nothing leaks.
            assert caught.value.body == {  # type: ignore[comparison-overlap]
                "message": f"No such File object: {made.id}",
                "type": "invalid_request_error",
                "param": "file_id",
                "code": "not_found",
            }
        assert made.id not in [f.id for f in other.files.list().data]
        assert owner.files.content(made.id).content == b"private words"
        mine = owner.files.content(made.id).response.headers["content-type"]
        assert mine.startswith("text/plain")


def test_listing_filters_pages_and_orders(files: Files) -> None:
    with files.client(LISTER_KEY) as client:
        empty = client.files.with_raw_response.list()
        body = empty.http_response.json()
        assert_matches("ListFilesResponse", body)  # first_id/last_id are strings, even here
        assert body == {
            "object": "list",
            "data": [],
            "first_id": "",
            "last_id": "",
            "has_more": False,
        }
        made = [
            client.files.create(file=(f"{n}.jsonl", b"{}\n" * n), purpose=purpose)
            for n, purpose in enumerate(["batch", "batch", "assistants", "batch", "user_data"], 1)
        ]
        ids = [f.id for f in made]
        newest_first = [f.id for f in client.files.list().data]
        assert newest_first == ids[::-1]
        oldest_first = client.files.list(order="asc")
        assert [f.id for f in oldest_first.data] == ids
        assert [f.id for f in client.files.list(purpose="batch").data] == [ids[3], ids[1], ids[0]]
        # Page by page with the SDK's own cursor (after=last id).
        pages = client.files.list(limit=2, order="asc")
        assert pages.has_more is True and [f.id for f in pages.data] == ids[:2]
        assert [f.id for f in pages] == ids  # iterating a page fetches the next ones
        tail = httpx.get(
            f"{files.v1}/files",
            params={"limit": 2, "order": "asc", "after": ids[3]},
            headers={"authorization": f"Bearer {LISTER_KEY}"},
        ).json()
        assert_matches("ListFilesResponse", tail)
        assert (tail["first_id"], tail["last_id"], tail["has_more"]) == (ids[4], ids[4], False)
    auth = {"authorization": f"Bearer {LISTER_KEY}"}
    again = httpx.get(f"{files.v1}/files", params={"after": "", "limit": 1}, headers=auth)
    assert again.json()["data"][0]["id"] == ids[-1]
    for params, param in (
        ({"order": "sideways"}, "order"),
        ({"limit": "ten"}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"after": "file-nope"}, "after"),
    ):
        error_of(httpx.get(f"{files.v1}/files", params=params, headers=auth), 400, param)


def test_too_large_is_refused_and_nothing_is_stored(files: Files) -> None:
    before = storage(files.settings)
    with files.client() as client:
        exact = client.files.create(file=("exact.bin", b"\1" * MAX_FILE), purpose="batch")
        assert exact.bytes == MAX_FILE
        before = storage(files.settings)
        with pytest.raises(openai.APIStatusError) as caught:
            client.files.create(file=("big.bin", b"\1" * (MAX_FILE + 1)), purpose="batch")
    assert caught.value.status_code == 413
    assert_matches("ErrorResponse", caught.value.response.json())
    assert str(MAX_FILE) in caught.value.message

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused while streaming
        boundary = b"xyzzy"
        yield b'--xyzzy\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        yield b'--xyzzy\r\nContent-Disposition: form-data; name="file"; filename="s.bin"\r\n\r\n'
        for _ in range(8):
            yield b"\2" * (MAX_FILE // 4)
        yield b"\r\n--" + boundary + b"--\r\n"

    streamed = files.post(
        content=chunked(), headers={"content-type": "multipart/form-data; boundary=xyzzy"}
    )
    error_of(streamed, 413, "file")
    # Purpose after the file (the spool) is bounded by the same limit.
    curl_order = files.post(
        files=[("file", ("c.bin", b"\3" * (MAX_FILE + 10))), ("purpose", (None, b"batch"))]
    )
    error_of(curl_order, 413, "file")
    after = storage(files.settings)
    assert (after.rows, after.contents, after.temporary) == (
        before.rows,
        before.contents,
        set(),
    )
    assert set(after.rows.values()) <= {"processed"}


def test_a_declared_length_over_the_limit_is_refused_before_the_body(files: Files) -> None:
    host, port = files.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            (
                "POST /v1/files HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {OWNER_KEY}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {10 * MAX_FILE}\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer  # not one byte of the body was sent
    assert b"payload_too_large" in body


def test_malformed_uploads_are_400s_and_store_nothing(files: Files) -> None:
    before = storage(files.settings)
    error_of(files.post(files=[("purpose", (None, b"batch"))]), 400, "file")  # no file part
    error_of(files.post(data={"purpose": "batch"}), 400)  # a form, but not multipart
    error_of(files.post(json={"purpose": "batch"}), 400)  # not a form at all
    error_of(files.post(files={"file": ("a.txt", b"x")}, data={"purpose": "bogus"}), 400, "purpose")
    error_of(files.post(files={"file": ("a.txt", b"x")}), 400, "purpose")
    error_of(
        files.post(
            files=[("file", ("a.txt", b"x")), ("file", ("b.txt", b"y"))], data={"purpose": "batch"}
        ),
        400,
        "file",
    )
    error_of(files.post(files={"other": ("a.txt", b"x")}, data={"purpose": "batch"}), 400, "file")
    error_of(files.post(files={"file": (None, b"x")}, data={"purpose": "batch"}), 400, "file")
    # purpose before the file, expires_after after it: the upload had already started.
    mixed = files.post(
        files=[
            ("purpose", (None, b"batch")),
            ("file", ("a.txt", b"x" * 1000)),
            ("expires_after[anchor]", (None, b"created_at")),
            ("expires_after[seconds]", (None, b"3600")),
        ]
    )
    error_of(mixed, 400, "expires_after[anchor]")
    good = httpx.Request(
        "POST",
        f"{files.v1}/files",
        files={"file": ("t.txt", b"x" * 5000)},
        data={"purpose": "batch"},
    )
    body = good.read()
    truncated = files.post(
        content=body[: len(body) - 40], headers={"content-type": good.headers["content-type"]}
    )
    assert "closing boundary" in error_of(truncated, 400)["message"]
    after = storage(files.settings)
    assert (after.rows, after.contents, after.temporary) == (before.rows, before.contents, set())


def test_expiry_is_kept(files: Files) -> None:
    with files.client() as client:
        made = client.files.create(
            file=("soon.jsonl", b"{}\n"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
        assert made.expires_at == made.created_at + 3600
        assert client.files.retrieve(made.id).expires_at == made.expires_at
        with pytest.raises(openai.BadRequestError) as caught:
            client.files.create(
                file=("x.jsonl", b"{}\n"),
                purpose="batch",
                expires_after={"anchor": "created_at", "seconds": 5},
            )
        assert caught.value.body["param"] == "expires_after.seconds"  # type: ignore[index]


def test_curl_with_purpose_after_the_file(files: Files, tmp_path: Path) -> None:
    source = tmp_path / "notes.md"
    source.write_bytes(os.urandom(100_000))
    answer = subprocess.run(
        [
            "curl",
            "-sS",
            f"{files.v1}/files",
            "-H",
            f"Authorization: Bearer {OWNER_KEY}",
            "-F",
            f"file=@{source}",
            "-F",
            "purpose=assistants",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    made = json.loads(answer.stdout)
    assert_matches("OpenAIFile", made)
    assert (made["filename"], made["bytes"], made["purpose"]) == ("notes.md", 100_000, "assistants")
    with files.client() as client:
        assert client.files.content(made["id"]).content == source.read_bytes()
    assert storage(files.settings).temporary == set()
    stray = [p for p in files.settings.data_dir.iterdir() if p.name.startswith("tmp")]
    assert stray == []  # the spool was an anonymous file


def test_files_count_against_request_limits(files: Files) -> None:
    with files.client(LIMITED_KEY) as client:
        made = client.files.create(file=("a.txt", b"a"), purpose="batch")
        client.files.retrieve(made.id)
        client.files.list()
        with pytest.raises(openai.RateLimitError) as caught:
            client.files.content(made.id)
    assert_matches("ErrorResponse", caught.value.response.json())
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "0"


def test_unauthenticated_calls_are_401(files: Files) -> None:
    for method, path in (
        ("GET", "/files"),
        ("POST", "/files"),
        ("GET", "/files/file-x"),
        ("GET", "/files/file-x/content"),
        ("DELETE", "/files/file-x"),
    ):
        error_of(httpx.request(method, f"{files.v1}{path}"), 401)


async def test_twenty_concurrent_uploads_with_the_async_client(files: Files) -> None:
    rng = random.Random(20)
    # Distinct contents (one of them empty), so a mix-up between uploads would show.
    contents = {
        f"doc-{n}.bin": f"{n}:".encode() * bool(n)
        + rng.randbytes(rng.choice((0, 5000, 70_000, 200_000)) * bool(n))
        for n in range(20)
    }
    async with openai.AsyncOpenAI(base_url=files.v1, api_key=OWNER_KEY, max_retries=0) as client:
        made = await asyncio.gather(
            *(
                client.files.create(file=(name, data), purpose="user_data")
                for name, data in contents.items()
            )
        )
        assert sorted(f.filename for f in made) == sorted(contents)
        listed = {f.id for f in (await client.files.list(purpose="user_data", limit=100)).data}
        assert {f.id for f in made} <= listed
        downloads = await asyncio.gather(*(client.files.content(f.id) for f in made))
        for item, download in zip(made, downloads, strict=True):
            assert download.content == contents[item.filename]
            assert item.bytes == len(contents[item.filename])
        fetched = await client.files.retrieve(made[0].id)
        assert fetched == made[0]
        deleted = await asyncio.gather(*(client.files.delete(f.id) for f in made))
        assert all(d.deleted for d in deleted)
        with pytest.raises(openai.NotFoundError):
            await client.files.retrieve(made[0].id)
    assert len({hashlib.sha256(data).digest() for data in contents.values()}) == 20
    assert contents["doc-0.bin"] == b""


@pytest.mark.parametrize("purpose_first", [True, False])
def test_a_client_that_leaves_mid_upload_leaves_nothing(files: Files, purpose_first: bool) -> None:
    before = storage(files.settings)
    host, port = files.url.removeprefix("http://").split(":")
    purpose = b'--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
    head = b'--B\r\nContent-Disposition: form-data; name="file"; filename="gone.bin"\r\n\r\n'
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            (
                "POST /v1/files HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {OWNER_KEY}\r\n"
                "Content-Type: multipart/form-data; boundary=B\r\n"
                f"Content-Length: {MAX_FILE}\r\n\r\n"
            ).encode()
            + (purpose + head if purpose_first else head)
            + b"\7" * (MAX_FILE // 2)
        )
        if purpose_first:  # the upload is in the store (unlisted) before the client goes
            wait_until(lambda: bool(in_progress(storage(files.settings))), "the upload to start")

    # Gone with half a file sent: whatever reached the store is removed, nothing is listed.
    def clean() -> bool:
        now = storage(files.settings)
        return (now.temporary, now.rows, now.contents) == (set(), before.rows, before.contents)

    wait_until(clean, "the abandoned upload to be removed")
    with files.client() as client:  # and the server goes on serving
        assert client.files.create(file=("after.txt", b"ok"), purpose="batch").bytes == 2


def in_progress(found: Stored) -> set[str]:
    """Uploads under way: unfinished files on disk, or database rows still uploading."""
    return found.temporary | {i for i, status in found.rows.items() if status == "uploading"}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)

"""The multipart decoder and the upload form, fed bytes alone (no server, no sockets)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from continuum.doors.http.multipart import (
    FormDecoder,
    FormEnd,
    FormEvent,
    PartData,
    PartEnd,
    PartStart,
    boundary_of,
)
from continuum.doors.http.uploads import FIELD_BYTES, FORM_OVERHEAD, UploadForm, receive
from continuum.errors import InvalidRequest, PayloadTooLarge
from continuum.files import FileObject


def form(fields: Sequence[tuple[str, Any]]) -> tuple[bytes, bytes]:
    """A body as httpx writes it, and its boundary; ``fields`` in order."""
    request = httpx.Request("POST", "http://x/", files=list(fields))
    return request.read(), boundary_of(request.headers["content-type"])


def decode(body: bytes, boundary: bytes, cuts: Sequence[int] = ()) -> list[FormEvent]:
    decoder = FormDecoder(boundary)
    events: list[FormEvent] = []
    start = 0
    for cut in [*sorted(cuts), len(body)]:
        events += decoder.feed(body[start:cut])
        start = cut
    decoder.close()
    return events


def summary(events: list[FormEvent]) -> list[Any]:
    """Events with each part's data joined (how the bytes are cut does not matter)."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, PartData) and out and isinstance(out[-1], bytes):
            out[-1] += event.data
        elif isinstance(event, PartData):
            out.append(event.data)
        else:
            out.append(event)
    return out


SAMPLE = [
    ("purpose", (None, b"batch")),
    ("file", ("r\u00e9sum\u00e9.jsonl", b"\r\n--not-the-boundary\r\n" + bytes(range(256)) * 40)),
]


def test_parts_come_as_events_in_order() -> None:
    body, boundary = form(SAMPLE)
    events = summary(decode(body, boundary))
    assert events == [
        PartStart("purpose", None, None),
        b"batch",
        PartEnd(),
        PartStart("file", "r\u00e9sum\u00e9.jsonl", "application/octet-stream"),
        SAMPLE[1][1][1],
        PartEnd(),
        FormEnd(),
    ]


@given(st.lists(st.integers(min_value=0, max_value=11_000), max_size=12))
def test_any_split_of_the_bytes_gives_the_same_form(cuts: list[int]) -> None:
    body, boundary = form(SAMPLE)
    assert summary(decode(body, boundary, [c for c in cuts if c <= len(body)])) == summary(
        decode(body, boundary)
    )


def test_one_byte_at_a_time() -> None:
    body, boundary = form(SAMPLE)
    assert summary(decode(body, boundary, range(1, len(body)))) == summary(decode(body, boundary))


def test_an_epilogue_is_ignored() -> None:
    body, boundary = form(SAMPLE)
    assert summary(decode(body + b"epilogue", boundary)) == summary(decode(body, boundary))
    assert summary(decode(body + b"epilogue", boundary, [len(body)])) == summary(
        decode(body, boundary)
    )


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "multipart/form-data"),
        ("application/json", "multipart/form-data"),
        ("multipart/form-data", "boundary"),
        ("multipart/form-data; boundary=" + "b" * 201, "boundary"),
    ],
)
def test_content_types_without_a_usable_boundary(content_type: str | None, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        boundary_of(content_type)


def test_quoted_boundary() -> None:
    assert boundary_of('multipart/form-data; boundary="a b"') == b"a b"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n", "Content-Disposition"),
        (b"--B\r\nContent-Disposition: attachment\r\n\r\nx\r\n--B--\r\n", "Content-Disposition"),
        (b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nno end", "closing boundary"),
        (b"--B\r\nX-Big: " + b"h" * 9000 + b"\r\n\r\n", "[Hh]eader"),
        (
            b"--B\r\n" + b'Content-Disposition: form-data; name="a"\r\n\r\nx\r\n--B\r\n' * 17,
            "parts",
        ),
        (b"", "closing boundary"),
    ],
)
def test_malformed_bodies_are_invalid_requests(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message) as caught:
        decode(body, b"B")
    assert caught.value.status == 400


# -- the upload form --------------------------------------------------------------------------


class Recorder:
    """A file store that keeps what it is given (the contract suite tests the real ones)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, bytes, int | None]] = []

    async def put(
        self,
        owner: str,
        filename: str,
        purpose: str,
        chunks: AsyncIterator[bytes],
        max_bytes: int,
        *,
        expires_after: int | None = None,
    ) -> FileObject:
        data = b"".join([chunk async for chunk in chunks])
        self.calls.append((owner, filename, purpose, data, expires_after))
        return FileObject("file-x", len(data), 0, filename, purpose)


async def body_of(data: bytes, piece: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


async def entries(directory: Path) -> list[str]:
    return await asyncio.to_thread(os.listdir, directory)


async def upload(
    fields: Sequence[tuple[str, Any]], tmp_path: Path, limit: int = 1 << 20
) -> Recorder:
    body, boundary = form(fields)
    store = Recorder()
    await receive(UploadForm(body_of(body), boundary, limit), store, "ann", tmp_path)  # type: ignore[arg-type]
    return store


async def test_purpose_before_the_file_streams_it_straight_to_the_store(tmp_path: Path) -> None:
    store = await upload(SAMPLE, tmp_path)
    assert store.calls == [("ann", "r\u00e9sum\u00e9.jsonl", "batch", SAMPLE[1][1][1], None)]
    assert await entries(tmp_path) == []


async def test_purpose_after_the_file_is_read_before_storing(tmp_path: Path) -> None:
    fields = [
        ("file", ("a.bin", b"z" * 3_000_000)),
        ("purpose", (None, b"assistants")),
        ("expires_after[anchor]", (None, b"created_at")),
        ("expires_after[seconds]", (None, b"7200")),
        ("ignored", (None, b"unknown fields are ignored")),
    ]
    store = await upload(fields, tmp_path, limit=4_000_000)
    assert store.calls == [("ann", "a.bin", "assistants", b"z" * 3_000_000, 7200)]
    assert await entries(tmp_path) == []  # the spool had no name


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ([("purpose", (None, b"batch"))], "file"),
        ([("file", ("a", b"x"))], "purpose"),
        ([("purpose", (None, b"batch")), ("doc", ("a", b"x"))], "file"),
        ([("purpose", (None, b"batch")), ("file", (None, b"x"))], "file"),
        ([("purpose", (None, b"batch")), ("file", ("a", b"x")), ("file", ("b", b"y"))], "file"),
        (
            [("purpose", (None, b"batch")), ("file", ("a", b"x")), ("purpose", (None, b"vision"))],
            "purpose",
        ),
        ([("file", ("a", b"x")), ("purpose", (None, b"\xff"))], "purpose"),
        (
            [
                ("file", ("a", b"x")),
                ("purpose", (None, b"batch")),
                ("expires_after[seconds]", (None, b"60")),
            ],
            "expires_after.anchor",
        ),
        (
            [
                ("file", ("a", b"x")),
                ("purpose", (None, b"batch")),
                ("expires_after[anchor]", (None, b"created_at")),
                ("expires_after[seconds]", (None, b"soon")),
            ],
            "expires_after.seconds",
        ),
    ],
)
async def test_forms_the_upload_refuses(
    fields: list[tuple[str, Any]], param: str, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await upload(fields, tmp_path)
    assert caught.value.param == param and caught.value.status == 400


async def test_limits_on_the_file_the_fields_and_the_rest(tmp_path: Path) -> None:
    for fields in (
        [("purpose", (None, b"batch")), ("file", ("a", b"x" * 1001))],
        [("file", ("a", b"x" * 1001)), ("purpose", (None, b"batch"))],
    ):
        with pytest.raises(PayloadTooLarge) as caught:
            await upload(fields, tmp_path, limit=1000)
        assert caught.value.param == "file" and caught.value.status == 413
    await upload([("purpose", (None, b"batch")), ("file", ("a", b"x" * 1000))], tmp_path, 1000)
    with pytest.raises(InvalidRequest, match="longer than"):
        await upload([("note", (None, b"n" * (FIELD_BYTES + 1))), ("file", ("a", b""))], tmp_path)
    many = [(f"note{n}", (None, b"n" * (FIELD_BYTES // 2))) for n in range(10)]
    assert 10 * FIELD_BYTES // 2 > FORM_OVERHEAD
    with pytest.raises(PayloadTooLarge, match="besides the file"):
        await upload([*many, ("file", ("a", b"x"))], tmp_path)
    assert await entries(tmp_path) == []

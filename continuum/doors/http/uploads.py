"""Receiving one Files API upload: the form's fields, then the file streamed into the store.

The store must know ``purpose`` before it takes the first byte. The ``openai`` SDKs
(and browsers' ``FormData`` in field order) send it before the file, so the file goes
straight from the socket to the store. ``curl -F file=@x -F purpose=batch`` sends it
after: then the file is spooled to an anonymous temporary file (bounded by the same
limit, gone with the process if it dies) until the fields after it have been read,
and stored from there. Fields that come after the file when ``purpose`` came before
it are refused: the upload has already started without them.

Nothing here is held whole in memory: the file moves in the pieces the server
receives, fields are bounded (``FIELD_BYTES``), and so is everything in the body that
is not the file (``FORM_OVERHEAD``), which also bounds a declared ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from pathlib import Path
from typing import IO

from continuum.doors.http.multipart import FormDecoder, FormEnd, FormEvent, PartData, PartStart
from continuum.errors import InvalidRequest, PayloadTooLarge
from continuum.files import FileObject, FileStore

FIELD_BYTES = 16 * 1024
# Boundaries, part headers and fields: all the body may hold besides the file's bytes.
FORM_OVERHEAD = 64 * 1024
SPOOL_WRITE = 1 << 20
# The fields the upload is made with; anything else in the form is ignored.
SETTINGS_FIELDS = ("purpose", "expires_after[anchor]", "expires_after[seconds]")


def file_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the file is larger than the limit of {limit} bytes", param="file")


class UploadForm:
    """One ``multipart/form-data`` body, read once, front to back."""

    def __init__(self, body: AsyncIterable[bytes], boundary: bytes, max_file_bytes: int):
        self.fields: dict[str, str] = {}
        self.max_file_bytes = max_file_bytes
        self._body = body
        self._decoder = FormDecoder(boundary)
        self._events = self._decode()
        self._received = 0
        self._file_bytes = 0

    async def _decode(self) -> AsyncGenerator[FormEvent, None]:
        async for chunk in self._body:
            # Checked before each new chunk, once the previous one's file bytes are counted.
            if self._received - self._file_bytes > FORM_OVERHEAD:
                raise PayloadTooLarge(
                    f"the form holds more than {FORM_OVERHEAD} bytes besides the file"
                )
            self._received += len(chunk)
            for event in self._decoder.feed(chunk):
                yield event
        self._decoder.close()

    async def aclose(self) -> None:
        """Stop reading the body (after a failure, the rest of it is not wanted)."""
        await self._events.aclose()

    async def until_file(self) -> str:
        """Read the fields before the file part; the file's name."""
        async for event in self._events:
            if isinstance(event, FormEnd):
                break
            if isinstance(event, PartStart):
                if event.name == "file" or event.filename is not None:
                    return _filename(event)
                await self._field(event.name)
        raise InvalidRequest(
            "the upload has no file: send it as the multipart part named 'file'", param="file"
        )

    async def file_chunks(self, *, settled: bool) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive (``PayloadTooLarge`` past the limit), then the
        rest of the form. ``settled``: the upload was started with the fields before the
        file, so one of ``SETTINGS_FIELDS`` after it is refused."""
        async for event in self._events:
            if isinstance(event, PartData):
                self._file_bytes += len(event.data)
                if self._file_bytes > self.max_file_bytes:
                    raise file_too_large(self.max_file_bytes)
                yield event.data
            else:
                break  # PartEnd
        async for event in self._events:
            if isinstance(event, FormEnd):
                return
            if not isinstance(event, PartStart):
                continue
            if event.name == "file" or event.filename is not None:
                raise InvalidRequest("send one file per upload", param="file")
            if settled and event.name in SETTINGS_FIELDS:
                raise InvalidRequest(
                    f"'{event.name}' came after the file while 'purpose' came before it: "
                    "send all the fields before the file (or all after it)",
                    param=event.name,
                )
            await self._field(event.name)

    async def _field(self, name: str) -> None:
        value = bytearray()
        async for event in self._events:
            if not isinstance(event, PartData):
                break  # PartEnd
            value += event.data
            if len(value) > FIELD_BYTES:
                raise InvalidRequest(f"the field '{name}' is longer than {FIELD_BYTES} bytes")
        try:
            self.fields[name] = value.decode()
        except UnicodeDecodeError:
            raise InvalidRequest(f"the field '{name}' is not UTF-8 text", param=name) from None


def _filename(start: PartStart) -> str:
    if start.name != "file":
        raise InvalidRequest(
            f"the form has a file in '{start.name}': send it as the part named 'file'",
            param="file",
        )
    if not start.filename:
        raise InvalidRequest(
            "the 'file' part has no filename: send it as a file (curl: -F file=@path)",
            param="file",
        )
    return start.filename


def upload_options(fields: dict[str, str]) -> tuple[str, int | None]:
    """``purpose`` and ``expires_after.seconds`` from the form (the store checks values)."""
    purpose = fields.get("purpose")
    if not purpose:
        raise InvalidRequest(
            "purpose is required (for example 'batch' or 'assistants')", param="purpose"
        )
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return purpose, None
    if anchor != "created_at":
        raise InvalidRequest(
            "expires_after[anchor] must be 'created_at'", param="expires_after.anchor"
        )
    try:
        return purpose, int(seconds or "")
    except ValueError:
        raise InvalidRequest(
            "expires_after[seconds] must be a whole number of seconds",
            param="expires_after.seconds",
        ) from None


async def receive(form: UploadForm, store: FileStore, owner: str, spool_dir: Path) -> FileObject:
    """Store the upload of ``form`` for ``owner`` (see the module docstring)."""
    try:
        filename = await form.until_file()
        limit = form.max_file_bytes
        if "purpose" in form.fields:
            purpose, expires = upload_options(form.fields)
            chunks = form.file_chunks(settled=True)
            return await store.put(owner, filename, purpose, chunks, limit, expires_after=expires)
        spool = await Spool.open(spool_dir)
        try:
            await spool.fill(form.file_chunks(settled=False))
            purpose, expires = upload_options(form.fields)
            chunks = spool.chunks()
            return await store.put(owner, filename, purpose, chunks, limit, expires_after=expires)
        finally:
            await asyncio.to_thread(spool.file.close)
    finally:
        await form.aclose()


class Spool:
    """An anonymous temporary file (no name on disk: a killed process leaves nothing)."""

    def __init__(self, file: IO[bytes]):
        self.file = file

    @classmethod
    async def open(cls, directory: Path) -> Spool:
        def make() -> IO[bytes]:
            directory.mkdir(parents=True, exist_ok=True)
            return tempfile.TemporaryFile(dir=directory)

        return cls(await asyncio.to_thread(make))

    async def fill(self, chunks: AsyncIterable[bytes]) -> None:
        pending = bytearray()
        async for chunk in chunks:
            pending += chunk
            if len(pending) >= SPOOL_WRITE:
                data, pending = pending, bytearray()
                await asyncio.to_thread(self.file.write, data)
        if pending:
            await asyncio.to_thread(self.file.write, pending)
        await asyncio.to_thread(self.file.seek, 0)

    async def chunks(self) -> AsyncIterator[bytes]:
        while data := await asyncio.to_thread(self.file.read, SPOOL_WRITE):
            yield data

"""A sans-IO ``multipart/form-data`` decoder: bytes in, part events out, nothing buffered whole.

    decoder = FormDecoder(boundary_of(content_type))
    for event in decoder.feed(chunk):   # PartStart, PartData, PartEnd, FormEnd
        ...
    decoder.close()                     # the body ended: was the form complete?

python-multipart does the parsing (its callback parser, which starlette uses too);
this module turns its callbacks into events, so an upload can stream a file part to
storage as it arrives instead of spooling the whole form first, as
``Request.form()`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from continuum.errors import InvalidRequest

MAX_PARTS = 16
MAX_HEADER_BYTES = 8 * 1024


@dataclass(slots=True)
class PartStart:
    """A part begins: its field ``name``, and ``filename`` when it carries a file."""

    name: str
    filename: str | None
    content_type: str | None


@dataclass(slots=True)
class PartData:
    data: bytes


@dataclass(slots=True)
class PartEnd:
    pass


@dataclass(slots=True)
class FormEnd:
    """The closing boundary: the form is complete."""


FormEvent: TypeAlias = PartStart | PartData | PartEnd | FormEnd


def malformed(detail: str) -> InvalidRequest:
    return InvalidRequest(f"The multipart/form-data body is malformed: {detail}")


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` content type, or ``InvalidRequest``."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise InvalidRequest(
            "Uploads are multipart/form-data (a 'file' part and a 'purpose' field), "
            f"not {content_type or 'a body without a Content-Type'}"
        )
    boundary = options.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise malformed("the Content-Type has no usable boundary")
    return boundary


def _text(raw: bytes) -> str:
    # Clients send non-ASCII names as UTF-8 (HTML5 form encoding); old ones as Latin-1.
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class FormDecoder:
    """Decodes one form. ``feed`` returns the events its bytes complete; errors raise
    ``InvalidRequest`` (a bad body is the client's fault, 400)."""

    def __init__(self, boundary: bytes, *, max_parts: int = MAX_PARTS):
        self._events: list[FormEvent] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._header_bytes = 0
        self._parts = 0
        self._max_parts = max_parts
        self.done = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    def feed(self, data: bytes) -> list[FormEvent]:
        if self.done:
            return []  # the epilogue after the closing boundary is ignored, as RFC 2046 says
        try:
            self._parser.write(data)
        except MultipartParseError as error:
            raise malformed(str(error)) from None
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        """The body has ended: ``InvalidRequest`` unless the closing boundary came."""
        if not self.done:
            raise malformed("it ended before its closing boundary")

    # -- python-multipart's callbacks ----------------------------------------------------

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > self._max_parts:
            raise malformed(f"it has more than {self._max_parts} parts")
        self._headers = {}
        self._header_bytes = 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._field, data[start:end])

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._grow(self._value, data[start:end])

    def _grow(self, into: bytearray, piece: bytes) -> None:
        self._header_bytes += len(piece)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise malformed(f"a part's headers are longer than {MAX_HEADER_BYTES} bytes")
        into += piece

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition")
        kind, options = parse_options_header(disposition)
        if kind != b"form-data" or b"name" not in options:
            raise malformed("a part has no Content-Disposition: form-data with a name")
        filename = options.get(b"filename")
        content_type = self._headers.get(b"content-type")
        self._events.append(
            PartStart(
                _text(options[b"name"]),
                None if filename is None else _text(filename),
                None if content_type is None else _text(content_type),
            )
        )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(PartData(data[start:end]))

    def _part_end(self) -> None:
        self._events.append(PartEnd())

    def _end(self) -> None:
        self.done = True
        self._events.append(FormEnd())

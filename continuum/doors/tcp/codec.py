"""The sans-IO frame codec: bytes in, frames out; frames in, bytes out.

No sockets and no event loop here: the server, the client and the tests feed bytes to a
``FrameDecoder`` and write what the ``encode_*`` functions return. Anything a peer can
send that breaks the protocol raises a ``ProtocolError``; nothing else escapes.
"""

from __future__ import annotations

import struct

from continuum.core.events import TextDelta, ToolCallDelta
from continuum.doors.tcp.errors import (
    BadMagic,
    FlowControlError,
    FrameTooLarge,
    ProtocolError,
    UnknownFrameType,
    UnsupportedVersion,
)
from continuum.doors.tcp.frames import (
    DEFAULT_MAX_FRAME,
    HEADER,
    HEADER_SIZE,
    KNOWN_TYPES,
    MAGIC,
    MAX_WINDOW,
    PING_SIZE,
    PREFACE_SIZE,
    Frame,
    FrameType,
)

_VERSION = struct.Struct(">H")
_U32 = struct.Struct(">I")
# A TEXT frame's header and its choice field, packed in one call on the hot path.
TEXT_HEAD = struct.Struct(">IBBIH")
_TOOL_HEAD = struct.Struct(">IBBIHHHH")
_TOOL_FIELDS = struct.Struct(">HHHH")
_CHOICE = struct.Struct(">H")
TEXT_OVERHEAD = 2
TOOL_OVERHEAD = _TOOL_FIELDS.size
# Compact the buffer once this much of it has been consumed.
_COMPACT_AT = 1 << 16


class FrameDecoder:
    """Turns a byte stream into frames.

    ``expect_preface`` makes it read the 8-byte preface first (docs/protocol.md §2); the
    magic is checked byte by byte as it arrives, so garbage fails on its first byte.
    ``versions`` are the versions accepted in the preface (``None``: any, as a client
    accepts whatever the server announces). A header whose length exceeds
    ``max_frame_size`` is refused before its payload is read or allocated.
    """

    __slots__ = ("_buf", "_pos", "max_frame_size", "version", "versions")

    def __init__(
        self,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME,
        expect_preface: bool = True,
        versions: frozenset[int] | None = frozenset({1}),
    ):
        self._buf = bytearray()
        self._pos = 0
        self.max_frame_size = max_frame_size
        self.versions = versions
        self.version: int | None = None if expect_preface else 0

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as frames."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> None:
        """Add received bytes; check the magic as soon as any of it is here."""
        if self.version is None:
            seen = len(self._buf)
            if seen < len(MAGIC):
                head = (self._buf + data)[: len(MAGIC)]
                if head != MAGIC[: len(head)]:
                    raise BadMagic("the connection does not start with the Continuum magic")
        self._buf += data

    def next_frame(self) -> Frame | None:
        """The next complete frame, or ``None`` until more bytes arrive."""
        buf = self._buf
        pos = self._pos
        if self.version is None:
            if len(buf) < PREFACE_SIZE:
                return None
            (version,) = _VERSION.unpack_from(buf, len(MAGIC))
            if self.versions is not None and version not in self.versions:
                supported = ", ".join(str(v) for v in sorted(self.versions))
                raise UnsupportedVersion(
                    f"protocol version {version} is not supported (supported: {supported})"
                )
            self.version = version
            pos = self._pos = PREFACE_SIZE
        available = len(buf) - pos
        if available < HEADER_SIZE:
            self._compact()
            return None
        length, ftype, flags, request_id = HEADER.unpack_from(buf, pos)
        if length > self.max_frame_size:
            raise FrameTooLarge(
                f"a frame of {length} bytes exceeds the maximum of {self.max_frame_size}"
            )
        if ftype not in KNOWN_TYPES:
            raise UnknownFrameType(f"unknown frame type {ftype}")
        end = pos + HEADER_SIZE + length
        if len(buf) < end:
            self._compact()
            return None
        payload = bytes(buf[pos + HEADER_SIZE : end])
        self._pos = end
        if end == len(buf):
            buf.clear()
            self._pos = 0
        return Frame(ftype, flags, request_id, payload)

    def frames(self) -> list[Frame]:
        """Every complete frame received so far."""
        out = []
        while (frame := self.next_frame()) is not None:
            out.append(frame)
        return out

    def _compact(self) -> None:
        if self._pos >= _COMPACT_AT:
            del self._buf[: self._pos]
            self._pos = 0


def encode_frame(ftype: int, request_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    """A whole frame: header and payload."""
    return HEADER.pack(len(payload), ftype, flags, request_id) + payload


def encode_text(request_id: int, choice: int, data: bytes) -> bytes:
    """A TEXT frame for ``data``, UTF-8 text that the caller split between characters."""
    return TEXT_HEAD.pack(len(data) + TEXT_OVERHEAD, FrameType.TEXT, 0, request_id, choice) + data


def decode_text(payload: bytes) -> TextDelta:
    if len(payload) < TEXT_OVERHEAD:
        raise ProtocolError("a TEXT payload is shorter than its choice field")
    (choice,) = _CHOICE.unpack_from(payload)
    try:
        return TextDelta(payload[TEXT_OVERHEAD:].decode(), choice)
    except UnicodeDecodeError:
        raise ProtocolError("a TEXT payload is not valid UTF-8") from None


def tool_call_size(call_id: bytes, name: bytes, arguments: bytes) -> int:
    """The payload length of a TOOL_CALL frame: what it takes from the windows."""
    return TOOL_OVERHEAD + len(call_id) + len(name) + len(arguments)


def encode_tool_call(
    request_id: int, choice: int, index: int, call_id: bytes, name: bytes, arguments: bytes
) -> bytes:
    """A TOOL_CALL frame; ``call_id`` and ``name`` are empty except in a call's first piece."""
    size = tool_call_size(call_id, name, arguments)
    head = _TOOL_HEAD.pack(
        size, FrameType.TOOL_CALL, 0, request_id, choice, index, len(call_id), len(name)
    )
    return head + call_id + name + arguments


def decode_tool_call(payload: bytes) -> ToolCallDelta:
    if len(payload) < TOOL_OVERHEAD:
        raise ProtocolError("a TOOL_CALL payload is shorter than its fixed fields")
    choice, index, id_len, name_len = _TOOL_FIELDS.unpack_from(payload)
    start = TOOL_OVERHEAD
    if start + id_len + name_len > len(payload):
        raise ProtocolError("a TOOL_CALL's id and name run past its payload")
    try:
        call_id = payload[start : start + id_len].decode() if id_len else None
        start += id_len
        name = payload[start : start + name_len].decode() if name_len else None
        arguments = payload[start + name_len :].decode()
    except UnicodeDecodeError:
        raise ProtocolError("a TOOL_CALL payload is not valid UTF-8") from None
    return ToolCallDelta(index, arguments, call_id, name, choice)


def encode_window_update(request_id: int, increment: int) -> bytes:
    return encode_frame(FrameType.WINDOW_UPDATE, request_id, _U32.pack(increment))


def decode_window_update(payload: bytes) -> int:
    """The increment; its range is checked by ``flow.Window.grant``."""
    if len(payload) != _U32.size:
        raise ProtocolError("a WINDOW_UPDATE payload must be 4 bytes")
    (increment,) = _U32.unpack(payload)
    if increment > MAX_WINDOW:
        raise FlowControlError(f"a WINDOW_UPDATE increment must be at most {MAX_WINDOW}")
    return int(increment)


def check_ping(payload: bytes) -> bytes:
    if len(payload) != PING_SIZE:
        raise ProtocolError(f"a PING or PONG payload must be {PING_SIZE} bytes")
    return payload

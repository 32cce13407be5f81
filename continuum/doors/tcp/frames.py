"""Constants and frame types of the Continuum TCP protocol (docs/protocol.md §2-§4)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

MAGIC = b"\x89CTM"
VERSION = 1
PREFACE = MAGIC + struct.pack(">HH", VERSION, 0)
PREFACE_SIZE = len(PREFACE)

# length u32, type u8, flags u8, request id u32 (big-endian).
HEADER = struct.Struct(">IBBI")
HEADER_SIZE = HEADER.size

DEFAULT_MAX_FRAME = 16_384
MAX_FRAME_CEILING = 1 << 20
MAX_REQUEST_ID = (1 << 32) - 1
MAX_WINDOW = (1 << 31) - 1
PING_SIZE = 8

FLAG_MORE = 0x01  # REQUEST: the body continues in the next REQUEST frame of this id


class FrameType(IntEnum):
    HELLO = 1
    WELCOME = 2
    REQUEST = 3
    TEXT = 4
    TOOL_CALL = 5
    DONE = 6
    ERROR = 7
    CANCEL = 8
    WINDOW_UPDATE = 9
    PING = 10
    PONG = 11
    GOAWAY = 12


KNOWN_TYPES = frozenset(int(t) for t in FrameType)
# Frames that carry flow-controlled bytes (their whole payload counts, §7.1).
FLOW_CONTROLLED = frozenset((FrameType.TEXT, FrameType.TOOL_CALL))
# Frames whose request id must be 0; the rest, except ERROR and WINDOW_UPDATE, need >= 1.
CONNECTION_FRAMES = frozenset(
    (FrameType.HELLO, FrameType.WELCOME, FrameType.PING, FrameType.PONG, FrameType.GOAWAY)
)
CLIENT_FRAMES = frozenset(
    (
        FrameType.HELLO,
        FrameType.REQUEST,
        FrameType.CANCEL,
        FrameType.WINDOW_UPDATE,
        FrameType.PING,
        FrameType.PONG,
    )
)
SERVER_FRAMES = frozenset(
    (
        FrameType.WELCOME,
        FrameType.TEXT,
        FrameType.TOOL_CALL,
        FrameType.DONE,
        FrameType.ERROR,
        FrameType.PING,
        FrameType.PONG,
        FrameType.GOAWAY,
    )
)


@dataclass(slots=True)
class Frame:
    """One decoded frame: its header fields and raw payload."""

    type: int
    flags: int
    request_id: int
    payload: bytes = b""

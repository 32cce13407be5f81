"""The errors of the TCP protocol itself (docs/protocol.md §8), raised by the sans-IO codec.

    ProtocolError               400 protocol_error   a frame out of place, a bad payload
    ├── BadMagic                400 bad_magic        the preface is not ours
    ├── UnsupportedVersion      505 unsupported_version
    ├── FrameTooLarge           413 frame_too_large  refused before the payload is read
    ├── UnknownFrameType        400 unknown_frame_type
    └── FlowControlError        400 flow_control_error

Every one is a connection error: the server answers ERROR on request id 0 and closes.
They are not ``ContinuumError``s because they never concern a request, only the wire.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The peer broke the protocol; the connection cannot go on."""

    status: int = 400
    code: str = "protocol_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadMagic(ProtocolError):
    code = "bad_magic"


class UnsupportedVersion(ProtocolError):
    status = 505
    code = "unsupported_version"


class FrameTooLarge(ProtocolError):
    status = 413
    code = "frame_too_large"


class UnknownFrameType(ProtocolError):
    code = "unknown_frame_type"


class FlowControlError(ProtocolError):
    code = "flow_control_error"

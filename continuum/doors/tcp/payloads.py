"""The JSON payloads of the control frames: HELLO, WELCOME, DONE, ERROR, GOAWAY (§5, §6.4, §8, §9).

Each is a small dataclass with ``encode`` (a whole frame) and ``decode`` (from a payload,
checking every member's type, so a malformed payload is a ``ProtocolError`` and never a
``KeyError`` deep inside the server).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from continuum.core.events import Usage
from continuum.doors.tcp.codec import encode_frame
from continuum.doors.tcp.errors import ProtocolError
from continuum.doors.tcp.frames import DEFAULT_MAX_FRAME, MAX_FRAME_CEILING, FrameType
from continuum.errors import ContinuumError, RateLimited

# An ERROR's message is cut to this many characters so that it always fits a frame.
MAX_MESSAGE_CHARS = 2_000


def _object(payload: bytes, what: str) -> Mapping[str, Any]:
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise ProtocolError(f"the {what} payload is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"the {what} payload is not a JSON object")
    return value


def _int(obj: Mapping[str, Any], key: str, what: str, *, default: int | None = None) -> int:
    value = obj.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"{what}.{key} must be an integer")
    return value


def _str(obj: Mapping[str, Any], key: str, what: str, *, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{what}.{key} must be a string")
    return value


@dataclass(frozen=True, slots=True)
class Hello:
    """The client's greeting: its key, its name, the frame size it asks for."""

    key: str
    client: str | None = None
    max_frame_size: int = DEFAULT_MAX_FRAME

    def encode(self) -> bytes:
        body: dict[str, Any] = {"key": self.key, "max_frame_size": self.max_frame_size}
        if self.client is not None:
            body["client"] = self.client
        return encode_frame(FrameType.HELLO, 0, orjson.dumps(body))

    @classmethod
    def decode(cls, payload: bytes) -> Hello:
        obj = _object(payload, "HELLO")
        key = _str(obj, "key", "HELLO")
        assert key is not None
        size = _int(obj, "max_frame_size", "HELLO", default=DEFAULT_MAX_FRAME)
        if not DEFAULT_MAX_FRAME <= size <= MAX_FRAME_CEILING:
            raise ProtocolError(
                f"HELLO.max_frame_size must be {DEFAULT_MAX_FRAME}..{MAX_FRAME_CEILING}"
            )
        return cls(key, _str(obj, "client", "HELLO", optional=True), size)


@dataclass(frozen=True, slots=True)
class Welcome:
    """The server's limits for this connection."""

    max_frame_size: int
    max_concurrent_requests: int
    initial_request_window: int
    initial_connection_window: int
    max_request_bytes: int
    max_buffered_bytes: int
    ping_interval: float | None
    version: int = 1
    server: str = "continuum"

    def encode(self) -> bytes:
        return encode_frame(
            FrameType.WELCOME,
            0,
            orjson.dumps(
                {
                    "version": self.version,
                    "server": self.server,
                    "max_frame_size": self.max_frame_size,
                    "max_concurrent_requests": self.max_concurrent_requests,
                    "initial_request_window": self.initial_request_window,
                    "initial_connection_window": self.initial_connection_window,
                    "max_request_bytes": self.max_request_bytes,
                    "max_buffered_bytes": self.max_buffered_bytes,
                    "ping_interval": self.ping_interval,
                }
            ),
        )

    @classmethod
    def decode(cls, payload: bytes) -> Welcome:
        obj = _object(payload, "WELCOME")
        interval = obj.get("ping_interval")
        if interval is not None and not isinstance(interval, int | float):
            raise ProtocolError("WELCOME.ping_interval must be a number or null")
        frame = _int(obj, "max_frame_size", "WELCOME")
        if not DEFAULT_MAX_FRAME <= frame <= MAX_FRAME_CEILING:
            raise ProtocolError("WELCOME.max_frame_size is out of range")
        return cls(
            max_frame_size=frame,
            max_concurrent_requests=_int(obj, "max_concurrent_requests", "WELCOME"),
            initial_request_window=_int(obj, "initial_request_window", "WELCOME"),
            initial_connection_window=_int(obj, "initial_connection_window", "WELCOME"),
            max_request_bytes=_int(obj, "max_request_bytes", "WELCOME"),
            max_buffered_bytes=_int(obj, "max_buffered_bytes", "WELCOME"),
            ping_interval=None if interval is None else float(interval),
            version=_int(obj, "version", "WELCOME"),
            server=_str(obj, "server", "WELCOME", optional=True) or "",
        )


@dataclass(frozen=True, slots=True)
class Done:
    """The end of a request: a finish reason per choice and the usage."""

    finish_reasons: tuple[str | None, ...]
    usage: Usage | None

    def encode(self, request_id: int) -> bytes:
        usage = self.usage
        body = {
            "finish_reasons": self.finish_reasons,
            "usage": None
            if usage is None
            else {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            },
        }
        return encode_frame(FrameType.DONE, request_id, orjson.dumps(body))

    @classmethod
    def decode(cls, payload: bytes) -> Done:
        obj = _object(payload, "DONE")
        reasons = obj.get("finish_reasons")
        if not isinstance(reasons, list) or not all(
            r is None or isinstance(r, str) for r in reasons
        ):
            raise ProtocolError("DONE.finish_reasons must be a list of strings or nulls")
        raw = obj.get("usage")
        usage = None
        if raw is not None:
            if not isinstance(raw, dict):
                raise ProtocolError("DONE.usage must be an object or null")
            usage = Usage(
                _int(raw, "prompt_tokens", "DONE.usage"),
                _int(raw, "completion_tokens", "DONE.usage"),
            )
        return cls(tuple(reasons), usage)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An ERROR frame's content: the same status and code the HTTP door would answer."""

    status: int
    code: str | None
    message: str
    param: str | None = None
    retry_after: float | None = None

    @classmethod
    def from_error(cls, error: ContinuumError) -> ErrorInfo:
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        return cls(error.status, error.code, error.message, error.param, retry_after)

    def encode(self, request_id: int) -> bytes:
        body = {
            "status": self.status,
            "code": self.code,
            "message": self.message[:MAX_MESSAGE_CHARS],
            "param": self.param,
            "retry_after": self.retry_after,
        }
        return encode_frame(FrameType.ERROR, request_id, orjson.dumps(body))

    @classmethod
    def decode(cls, payload: bytes) -> ErrorInfo:
        obj = _object(payload, "ERROR")
        retry_after = obj.get("retry_after")
        if retry_after is not None and not isinstance(retry_after, int | float):
            raise ProtocolError("ERROR.retry_after must be a number or null")
        message = _str(obj, "message", "ERROR")
        assert message is not None
        return cls(
            _int(obj, "status", "ERROR"),
            _str(obj, "code", "ERROR", optional=True),
            message,
            _str(obj, "param", "ERROR", optional=True),
            None if retry_after is None else float(retry_after),
        )


@dataclass(frozen=True, slots=True)
class GoAway:
    """The server is draining: requests up to ``last_request_id`` finish, no new ones."""

    last_request_id: int
    code: str = "shutting_down"
    message: str = "the server is shutting down"

    def encode(self) -> bytes:
        body = {"last_request_id": self.last_request_id, "code": self.code}
        body["message"] = self.message
        return encode_frame(FrameType.GOAWAY, 0, orjson.dumps(body))

    @classmethod
    def decode(cls, payload: bytes) -> GoAway:
        obj = _object(payload, "GOAWAY")
        code = _str(obj, "code", "GOAWAY", optional=True) or "shutting_down"
        message = _str(obj, "message", "GOAWAY", optional=True) or ""
        return cls(_int(obj, "last_request_id", "GOAWAY"), code, message)

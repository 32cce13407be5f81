"""The server's limits for each connection, advertised in WELCOME (docs/protocol.md §11)."""

from __future__ import annotations

from dataclasses import dataclass

from continuum.doors.tcp.frames import DEFAULT_MAX_FRAME, MAX_FRAME_CEILING, MAX_WINDOW

# Unflushed output past which a request's task writes it out and lets the loop run
# (``ServerConnection.writable``): an implementation bound, not a protocol limit.
FLUSH_AT = 64 * 1024


@dataclass(frozen=True, slots=True)
class TcpLimits:
    """Per-connection limits of a ``TcpServer``.

    ``max_frame_size`` is the largest frame a client may negotiate (a client that asks
    for nothing gets 16 KiB). ``max_partial_request_bytes`` bounds the request bodies
    still arriving in pieces on one connection; ``max_buffered_bytes`` is the
    slow-consumer cap on bytes written and not yet taken by the kernel.
    """

    handshake_timeout: float = 5.0
    max_frame_size: int = MAX_FRAME_CEILING
    max_concurrent_requests: int = 100
    initial_request_window: int = 65_536
    initial_connection_window: int = 1 << 20
    max_request_bytes: int = 8 << 20
    max_partial_request_bytes: int = 16 << 20
    max_buffered_bytes: int = 8 << 20
    ping_interval: float | None = 120.0
    slow_consumer_grace: float = 1.0

    def __post_init__(self) -> None:
        if not DEFAULT_MAX_FRAME <= self.max_frame_size <= MAX_FRAME_CEILING:
            raise ValueError(f"max_frame_size must be {DEFAULT_MAX_FRAME}..{MAX_FRAME_CEILING}")
        # A window of at least a default frame always has room for any one frame head and
        # character at half its size, when a client returns credit (docs/protocol.md §7.1).
        for name in ("initial_request_window", "initial_connection_window"):
            if not DEFAULT_MAX_FRAME <= getattr(self, name) <= MAX_WINDOW:
                raise ValueError(f"{name} must be {DEFAULT_MAX_FRAME}..{MAX_WINDOW}")
        for name in (
            "max_concurrent_requests",
            "max_request_bytes",
            "max_partial_request_bytes",
            "max_buffered_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if self.handshake_timeout <= 0:
            raise ValueError("handshake_timeout must be positive")
        if self.ping_interval is not None and self.ping_interval <= 0:
            raise ValueError("ping_interval must be positive or None")

    def frame_size_for(self, asked: int) -> int:
        """The frame size a client gets: what it asked for, capped by the server."""
        return max(DEFAULT_MAX_FRAME, min(asked, self.max_frame_size))

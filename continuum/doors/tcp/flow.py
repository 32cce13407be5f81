"""Credit accounting for flow control (docs/protocol.md §7), sans-IO."""

from __future__ import annotations

from continuum.doors.tcp.errors import FlowControlError
from continuum.doors.tcp.frames import MAX_WINDOW


class Window:
    """The credit one side may still send (or, on the receiving side, expects to receive)."""

    __slots__ = ("available",)

    def __init__(self, initial: int):
        self.available = initial

    def consume(self, size: int) -> None:
        """Take ``size`` bytes of credit; receiving more than was granted breaks the protocol."""
        if size > self.available:
            raise FlowControlError(
                f"{size} bytes of flow-controlled data exceed the window of {self.available}"
            )
        self.available -= size

    def grant(self, increment: int) -> None:
        """Add a WINDOW_UPDATE's increment; 0 or a window past 2**31-1 is an error."""
        if increment < 1:
            raise FlowControlError("a WINDOW_UPDATE increment must be at least 1")
        if self.available + increment > MAX_WINDOW:
            raise FlowControlError(f"the window would exceed {MAX_WINDOW} bytes")
        self.available += increment


class Replenisher:
    """Batches returned credit: an update once half of the initial window is owed.

    Sending one WINDOW_UPDATE per frame would double the frames on the wire; waiting for
    the whole window would stall the sender for a round trip at every window.
    """

    __slots__ = ("owed", "threshold")

    def __init__(self, window: int):
        self.threshold = max(1, window // 2)
        self.owed = 0

    def add(self, size: int) -> int:
        """Count ``size`` bytes consumed; the increment to send now, or 0."""
        self.owed += size
        if self.owed < self.threshold:
            return 0
        owed, self.owed = self.owed, 0
        return owed


def utf8_cut(data: bytes, limit: int) -> int:
    """The largest prefix length <= ``limit`` that ends between UTF-8 characters.

    Returns 0 when not even the first character fits. ``data`` must be valid UTF-8.
    """
    if limit >= len(data):
        return len(data)
    cut = limit
    # Continuation bytes are 0b10xxxxxx: step back to the start of the split character.
    while cut > 0 and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return cut

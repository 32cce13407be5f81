"""The corked WebSocket transport: one write per loop turn, same bytes, same order."""

from __future__ import annotations

import asyncio
from typing import Any

from continuum.doors.ws.protocol import _Cork


class Recording:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"info:{name}"


async def test_the_writes_of_one_turn_go_out_as_one() -> None:
    real = Recording()
    cork = _Cork(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    for frame in (b"a", b"b", b"c"):
        cork.write(frame)
    assert real.writes == []  # nothing yet: the turn is not over
    await asyncio.sleep(0)
    assert real.writes == [b"abc"]
    cork.write(b"d")
    await asyncio.sleep(0)
    assert real.writes == [b"abc", b"d"]
    assert cork.get_extra_info("socket") == "info:socket"  # the rest is the real transport's


async def test_close_sends_what_was_gathered_first() -> None:
    real = Recording()
    cork = _Cork(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    cork.write(b"last frame")
    cork.write(b"close frame")
    cork.close()
    assert real.writes == [b"last frameclose frame"] and real.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert real.writes == [b"last frameclose frame"]


async def test_nothing_is_written_to_a_closing_transport() -> None:
    real = Recording()
    cork = _Cork(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    cork.write(b"late")
    real.closed = True
    await asyncio.sleep(0)
    assert real.writes == []

"""The read loop every backend shares: history, then live, from the reader's own cursor.

A reader never asks for "what is new from now on". It asks for "what follows offset
N" (one atomic snapshot: state, epoch, head and the entries after N), yields them,
and then waits for a wake-up with N still in hand. Whatever was appended between the
snapshot and the wait is found by the next snapshot, so history and live join with
no gap and no duplicate, whether or not a wake-up was lost: wake-ups only shorten the
wait, and the wait is bounded by ``check`` so a lost one costs at most that long.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Protocol

from continuum.sessions.base import Snapshot
from continuum.sessions.model import Cursor, Done, Failed, Idle, Outcome, Reset

BATCH = 512  # entries per snapshot: a long history is replayed in slices


class LogAccess(Protocol):
    """The three primitives a backend gives the read loop."""

    async def snapshot(self, session_id: str, after: int, limit: int) -> Snapshot | None: ...

    async def wait(self, session_id: str, after: int, within: float) -> None: ...

    async def reap(self, session_id: str) -> bool: ...


def _gone(session_id: str) -> Reset:
    return Reset("expired", f"stream {session_id} is unknown or has expired")


async def read_log(
    log: LogAccess,
    session_id: str,
    after: str | Cursor | None,
    *,
    check: float,
    idle: float | None = None,
) -> AsyncIterator[Outcome]:
    """See ``SessionStore.read``."""
    if isinstance(after, str):
        text = after
        try:
            after = Cursor.parse(text)
        except ValueError:
            yield Reset("invalid_cursor", f"{text[:80]!r} is not a cursor of this stream")
            return
    position = 0 if after is None else after.offset
    snap = await log.snapshot(session_id, position, BATCH)
    if snap is None:
        yield _gone(session_id)
        return
    restart = Cursor(snap.epoch, 0)
    if after is not None and after.epoch != snap.epoch:
        yield Reset("stale_epoch", "the cursor belongs to another buffer of this stream", restart)
        return
    if position > snap.head:
        yield Reset("ahead", f"offset {position} is past the end of the stream", restart)
        return
    last_out = time.monotonic()
    last_reap = 0.0
    while True:
        for entry in snap.entries:
            yield entry
            last_out = time.monotonic()
            position = entry.cursor.offset
            if isinstance(entry, Done | Failed):
                return
        if len(snap.entries) < BATCH:  # caught up with the log
            if snap.state in ("done", "failed"):
                return  # the cursor was the terminal entry itself: nothing follows it
            if snap.state == "expired":
                yield Reset("expired", f"stream {session_id} expired before it started", restart)
                return
            now = time.monotonic()
            if snap.state == "running" and not snap.lease_alive and now - last_reap >= 0.05:
                last_reap = now
                await log.reap(session_id)  # conditional: only a lapsed lease is reaped
            else:
                wait = check
                if idle is not None:
                    due = idle - (now - last_out)
                    if due <= 0:
                        yield Idle()
                        last_out = time.monotonic()
                        due = idle
                    wait = min(wait, due)
                await log.wait(session_id, position, wait)
        snap = await log.snapshot(session_id, position, BATCH)
        if snap is None:
            yield _gone(session_id)
            return

"""The read loop every backend shares: history, then live, from the reader's own cursor.

A reader never asks for "what is new from now on". It asks for "what follows offset
N" (one atomic snapshot: state, epoch, head and the entries after N) and yields them.
Once it has caught up with a live log it subscribes to the session's wake-ups and
looks again (Centrifugo's subscribe, then read history, then merge by offset); from
then on it waits with N in hand. A wake-up may carry the entries right after N, else
the reader takes the next snapshot from N, so whatever was appended meanwhile is found
either way: history and live join with no gap and no duplicate whether or not a
wake-up was lost. Waits are bounded by ``check``; each that ends empty is followed by
a snapshot, which is also when the state (ended, expired, the producer's lease) is
looked at.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Protocol

from continuum.sessions.base import Snapshot
from continuum.sessions.model import Cursor, Done, Entry, Failed, Idle, Outcome, Reset

FIRST = 64  # the first slice is small, so a reconnect's first byte comes quickly
BATCH = 512  # then history is replayed in slices of this many entries


class Follower(Protocol):
    """A reader's hold on a session's wake-ups, for as long as it follows it live."""

    async def wait(self, epoch: str, after: int, within: float) -> list[Entry] | None:
        """Wait until the log may have grown past ``after`` (at most ``within`` s).
        Returns the entries right after ``after`` when the backend has them at hand,
        else ``None``: the caller takes a snapshot."""
        ...


class LogAccess(Protocol):
    """The primitives a backend gives the read loop."""

    async def snapshot(self, session_id: str, after: int, limit: int) -> Snapshot | None:
        """State, epoch, head and up to ``limit`` entries after offset ``after``, in
        one atomic look; ``None`` if the session is unknown or gone."""
        ...

    def follow(self, session_id: str) -> AbstractAsyncContextManager[Follower]:
        """Start receiving the session's wake-ups (subscribed on entry)."""
        ...

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
    snap = await log.snapshot(session_id, position, FIRST)
    if snap is None:
        yield _gone(session_id)
        return
    epoch = snap.epoch
    restart = Cursor(epoch, 0)
    if after is not None and after.epoch != epoch:
        yield Reset("stale_epoch", "the cursor belongs to another buffer of this stream", restart)
        return
    if position > snap.head:
        yield Reset("ahead", f"offset {position} is past the end of the stream", restart)
        return
    entries, limit = snap.entries, FIRST
    fresh = True  # ``snap`` was taken after the last entry yielded
    follower: Follower | None = None  # subscribed only once history is replayed
    last_out = time.monotonic()
    last_reap = 0.0
    async with AsyncExitStack() as stack:
        while True:
            for entry in entries:
                yield entry
                last_out = time.monotonic()
                position = entry.cursor.offset
                if isinstance(entry, Done | Failed):
                    return
            if fresh and len(entries) >= limit:  # more history to replay
                limit = BATCH
            elif fresh and follower is None and snap.state in ("pending", "running"):
                # Caught up with a live log: subscribe to its wake-ups, then look again
                # (whatever came before the subscription is in the next snapshot).
                follower = await stack.enter_async_context(log.follow(session_id))
            else:
                now = time.monotonic()
                reap = False
                if fresh:  # caught up with the log as of the snapshot: in what state?
                    if snap.state in ("done", "failed"):
                        return  # the cursor was the terminal entry: nothing follows it
                    if snap.state == "expired":
                        yield Reset("expired", f"stream {session_id} expired before it started")
                        return
                    lapsed = snap.state == "running" and not snap.lease_alive
                    reap = lapsed and now - last_reap >= check
                if reap:
                    last_reap = now
                    await log.reap(session_id)  # conditional: only a lapsed lease is reaped
                elif follower is not None:
                    wait = check
                    if idle is not None:
                        due = idle - (now - last_out)
                        if due <= 0:
                            yield Idle()
                            last_out = time.monotonic()
                            due = idle
                        wait = min(wait, due)
                    got = await follower.wait(epoch, position, wait)
                    if got:
                        entries, fresh = got, False
                        continue
            snap = await log.snapshot(session_id, position, limit)
            if snap is None:
                yield _gone(session_id)
                return
            entries, fresh = snap.entries, True

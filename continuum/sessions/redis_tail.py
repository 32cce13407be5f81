"""One blocked ``XREAD`` per process for every log its readers wait on.

A blocked ``XREAD`` holds a Redis connection; one per waiting reader would cost a
socket and a file descriptor per SSE client. Instead each process keeps one
``XREAD BLOCK`` over every watched log, each from the last ID this tail has seen of it
(never ``$``), and wakes the readers of a log when it grows: the ``XADD`` of an append
wakes every replica's tail in the same atomic step. Readers then fetch from their own
cursor, so the tail only ever shortens a wait; if it is late or down, a reader's own
timeout (``Timings.check``) still finds the entries.

A reader watching a log the blocked ``XREAD`` does not cover yet interrupts it by
adding to a private wake stream the ``XREAD`` also reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("continuum.sessions")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _offset(stream_id: bytes | str) -> int:
    return int(_text(stream_id).split("-", 1)[0])


@dataclass(slots=True, eq=False)
class _Watch:
    after: int  # the tail reads this log after this offset
    waiters: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def fire(self) -> None:
        event, self.event = self.event, asyncio.Event()
        event.set()


class Tail:
    """Wakes readers of Redis stream logs whose IDs are ``<offset>-0``."""

    def __init__(self, client: Redis, prefix: str, *, block: float = 10.0):
        self._client = client
        self._wake_key = f"{prefix}tail:{uuid.uuid4().hex}"
        timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
        if timeout:  # a blocked read must return before the socket times out
            block = min(block, max(0.1, float(timeout) - 1.0))
        self._block_ms = int(block * 1000)
        self._watches: dict[str, _Watch] = {}
        self._covered: frozenset[str] = frozenset()  # the logs the XREAD in flight reads
        self._blocked = False
        self._woken = False
        self._wake_last = "0-0"
        self._has_watches = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def wait(self, key: str, after: int, within: float) -> None:
        """Return once ``key`` may have entries past ``after``, or after ``within`` seconds."""
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = _Watch(after)
        elif watch.after > after:
            return  # this tail has already seen entries the reader has not
        watch.waiters += 1
        event = watch.event
        try:
            self._ensure_running()
            if self._blocked and key not in self._covered and not self._woken:
                self._woken = True
                await self._wake()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await event.wait()
        finally:
            watch.waiters -= 1
            if watch.waiters == 0 and self._watches.get(key) is watch:
                del self._watches[key]

    def _ensure_running(self) -> None:
        self._has_watches.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="session-tail")

    async def _wake(self) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.xadd(self._wake_key, {"w": "1"}, maxlen=1)
                pipe.pexpire(self._wake_key, self._block_ms + 60_000)
                await pipe.execute()
        except RedisError as error:  # readers fall back to their own timeouts
            log.warning("session tail: wake failed: %s", type(error).__name__)

    async def _run(self) -> None:
        while True:
            if not self._watches:
                self._has_watches.clear()
                await self._has_watches.wait()
                continue
            streams: dict[str, str] = {self._wake_key: self._wake_last}
            for key, watch in self._watches.items():
                streams[key] = f"{watch.after}-0"
            self._covered = frozenset(streams)
            self._blocked = True
            self._woken = False
            try:
                reply: Any = await self._client.xread(streams, block=self._block_ms)  # type: ignore[arg-type]
            except RedisError as error:
                log.warning("session tail: XREAD failed: %s", type(error).__name__)
                await asyncio.sleep(0.5)
                continue
            finally:
                self._blocked = False
            if isinstance(reply, dict):  # RESP3 clients answer a map
                reply = list(reply.items())
            for raw_key, entries in reply or ():
                key = _text(raw_key)
                if not entries:
                    continue
                if key == self._wake_key:
                    self._wake_last = _text(entries[-1][0])
                    continue
                found = self._watches.get(key)
                if found is not None:
                    found.after = max(found.after, _offset(entries[-1][0]))
                    found.fire()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for watch in self._watches.values():
            watch.fire()
        with contextlib.suppress(RedisError):
            await self._client.delete(self._wake_key)

"""Wake-ups for Redis readers: one pub/sub connection per process, Centrifugo's way.

The script that appends an entry (``XADD``) also ``PUBLISH``es it on the session's
channel, in the same atomic step. A process subscribes to the channel of each session
its readers follow, once, on one connection, and keeps the recent entries of each in
a small buffer. A reader *subscribes first* (waits for Redis's confirmation), *then*
reads the history from the log, then takes live entries from the buffer: the entry
offsets join the two with no gap and no duplicate. Pub/sub is at-most-once, so the
offsets are checked: an entry missing from the buffer (a dropped connection, a full
buffer) sends the reader back to the log from its own cursor, and a reader never waits
longer than ``Timings.check`` without looking at the log itself.

Why not ``XREAD BLOCK``: one blocked read per waiting reader costs a Redis connection
(a socket and a file descriptor) per SSE client, and one ``XREAD`` over every watched
log costs Redis O(watched logs) each time it is re-issued, i.e. on every append
(measured in docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger("continuum.sessions")

KEEP = 512  # recent entries kept per followed session


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


@dataclass(slots=True, eq=False)
class _Channel:
    followers: int = 0
    need: int = 0  # the ordinal of our SUBSCRIBE among those sent for this channel
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    recent: deque[tuple[int, bytes]] = field(default_factory=lambda: deque(maxlen=KEEP))

    def note(self, offset: int, message: bytes) -> None:
        self.recent.append((offset, message))
        self.wake()

    def wake(self) -> None:
        fired, self.changed = self.changed, asyncio.Event()
        fired.set()

    def after(self, offset: int) -> list[bytes] | None:
        """The buffered messages right after ``offset``, if the buffer has the next one."""
        recent = self.recent
        if not recent:
            return None
        index = offset + 1 - recent[0][0]
        if index < 0 or index >= len(recent) or recent[index][0] != offset + 1:
            return None
        out = []
        expected = offset + 1
        for i in range(index, len(recent)):
            found, message = recent[i]
            if found != expected:
                break
            out.append(message)
            expected += 1
        return out


class Follower:
    """A reader's hold on one session's wake-ups (see ``Wakeups.follow``)."""

    def __init__(self, channel: _Channel):
        self._channel = channel

    async def wait(self, after: int, within: float) -> list[bytes] | None:
        """The published entries right after offset ``after``: at once if buffered, else
        when they come, or ``None`` after ``within`` seconds or on a gap (then the
        caller reads the log from its own cursor)."""
        channel = self._channel
        ready = channel.after(after)
        if ready is not None:
            return ready
        if channel.recent and channel.recent[-1][0] > after:
            return None  # the buffer moved past us without the next entry: a gap
        changed = channel.changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await changed.wait()
        return channel.after(after)


def parse(message: bytes) -> tuple[int, str, bytes]:
    """``b"<offset>:<kind>:<rest>"`` → (offset, kind, rest)."""
    offset, kind, rest = message.split(b":", 2)
    return int(offset), kind.decode(), rest


class Wakeups:
    """Subscribes to the channels of followed sessions, on one connection per process."""

    def __init__(self, client: Redis):
        self._client = client
        self._pubsub: PubSub | None = None
        self._channels: dict[str, _Channel] = {}
        self._sent: dict[str, int] = {}
        self._confirmed: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def followed(self) -> int:
        """How many sessions this process follows now."""
        return len(self._channels)

    @contextlib.asynccontextmanager
    async def follow(self, channel_name: str, within: float) -> AsyncIterator[Follower]:
        """Subscribe (waiting up to ``within`` s for Redis to confirm) for the block."""
        channel = self._channels.get(channel_name)
        if channel is None:
            channel = self._channels[channel_name] = _Channel()
            await self._subscribe(channel_name, channel)
        channel.followers += 1
        try:
            if not channel.confirmed.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(within):
                        await channel.confirmed.wait()
            yield Follower(channel)
        finally:
            channel.followers -= 1
            if channel.followers == 0 and self._channels.get(channel_name) is channel:
                del self._channels[channel_name]
                await self._command("unsubscribe", channel_name)

    async def _subscribe(self, name: str, channel: _Channel) -> None:
        self._sent[name] = channel.need = self._sent.get(name, 0) + 1
        if await self._command("subscribe", name) and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="session-wakeups")

    async def _command(self, command: str, name: str) -> bool:
        if self._closed:
            return False  # readers still running after a close read the log on a timer
        # One at a time: concurrent first commands would each take a pool connection.
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self._client.pubsub()
            try:
                await getattr(self._pubsub, command)(name)
            except RedisError as error:  # readers fall back to reading the log on a timer
                log.warning("session wake-ups: %s failed: %s", command, type(error).__name__)
                return False
            return True

    async def _listen(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message: Any = await self._pubsub.get_message(timeout=None)
            except RedisError as error:
                log.warning("session wake-ups: %s; reconnecting", type(error).__name__)
                await asyncio.sleep(0.5)
                continue
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        name = _text(message["channel"])
        if kind == "message":
            channel = self._channels.get(name)
            if channel is not None:
                data = _as_bytes(message["data"])
                channel.note(int(data.split(b":", 1)[0]), data)
        elif kind == "subscribe":
            # Replies come in the order the commands were sent: the n-th confirmation
            # of a channel answers its n-th SUBSCRIBE (re-subscriptions after a
            # reconnect only push the count further).
            self._confirmed[name] = self._confirmed.get(name, 0) + 1
            channel = self._channels.get(name)
            if channel is not None and self._confirmed[name] >= channel.need:
                channel.confirmed.set()
        elif (
            kind == "unsubscribe"
            and name not in self._channels
            and self._confirmed.get(name, 0) >= self._sent.get(name, 0)
        ):
            self._confirmed.pop(name, None)  # every SUBSCRIBE sent has been answered
            self._sent.pop(name, None)

    async def aclose(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for channel in self._channels.values():
            channel.wake()  # every follower goes back to reading the log
        if self._pubsub is not None:
            with contextlib.suppress(RedisError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None

"""Sessions in Redis, shared by every replica (see ``redis_scripts`` for the key layout).

Every change is one Lua script (append + wake-up, end + callback + chat answer, claim
of the generation, reap of a dead producer), timed by Redis's clock so replicas with
skewed clocks agree. Readers look at a session with one ``MULTI`` (state, head, the
entries after their cursor, the lease) and wait on this process's ``Wakeups`` (one
pub/sub connection for all of them).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from continuum.errors import InvalidRequest, NotFound, PermissionDenied, StateUnavailable
from continuum.sessions import redis_scripts as lua
from continuum.sessions.base import Snapshot
from continuum.sessions.model import (
    ChatInfo,
    ChatMessage,
    Cursor,
    Done,
    Entry,
    Failed,
    Outcome,
    Piece,
    SessionInfo,
    SessionSpec,
    State,
    Timings,
    check_chat_id,
    new_epoch,
)
from continuum.sessions.reading import read_log
from continuum.sessions.redis_wakeups import Follower as WakeFollower
from continuum.sessions.redis_wakeups import Wakeups, parse

if TYPE_CHECKING:
    from continuum.sessions.callbacks.redis import RedisOutbox

_SPEC_FIELDS = (
    "owner",
    "prompt",
    "model",
    "max_tokens",
    "user_id",
    "chat_id",
    "resume_url",
    "conversation",
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _spec_args(spec: SessionSpec) -> list[str]:
    args: list[str] = []
    for name in _SPEC_FIELDS:
        value = getattr(spec, name)
        if value is not None:
            args += [name, str(value)]
    return args


def _spec(fields: dict[str, str]) -> SessionSpec:
    max_tokens = fields.get("max_tokens")
    return SessionSpec(
        owner=fields.get("owner", ""),
        prompt=fields.get("prompt", ""),
        model=fields.get("model", ""),
        max_tokens=int(max_tokens) if max_tokens is not None else None,
        user_id=fields.get("user_id"),
        chat_id=fields.get("chat_id"),
        resume_url=fields.get("resume_url"),
        conversation=fields.get("conversation"),
    )


def _state(raw: str, deadline: str | None, now_ms: int) -> State:
    if raw == "pending" and deadline is not None and now_ms >= int(deadline):
        return "expired"
    return cast(State, raw)


def _entry(epoch: str, stream_id: Any, fields: dict[Any, Any]) -> Entry:
    cursor = Cursor(epoch, int(_text(stream_id).split("-", 1)[0]))
    data = {_text(k): v for k, v in fields.items()}
    if "t" in data:
        return Piece(cursor, _text(data["t"]))
    if "d" in data:
        used, made = _text(data["d"]).split(" ")
        return Done(cursor, int(used), int(made))
    return Failed(cursor, _text(data.get("m", b"")), _text(data.get("e", b"error")))


def _published(epoch: str, message: bytes) -> Entry:
    offset, kind, rest = parse(message)
    cursor = Cursor(epoch, offset)
    if kind == "t":
        return Piece(cursor, rest.decode())
    if kind == "d":
        used, made = rest.split(b" ")
        return Done(cursor, int(used), int(made))
    code, _, text = rest.partition(b"\n")
    return Failed(cursor, text.decode(), code.decode())


class _Follower:
    def __init__(self, follower: WakeFollower):
        self._follower = follower

    async def wait(self, epoch: str, after: int, within: float) -> list[Entry] | None:
        messages = await self._follower.wait(after, within)
        if not messages:
            return None
        return [_published(epoch, message) for message in messages]


class RedisSessionStore:
    """``SessionStore`` on one Redis (see ``continuum.sessions.base``)."""

    def __init__(
        self,
        client: Redis,
        timings: Timings | None = None,
        *,
        prefix: str = "continuum:s:",
        outbox: RedisOutbox | None = None,
        owns_client: bool = False,
    ):
        self.timings = timings or Timings()
        self._client = client
        self._owns_client = owns_client  # close the client with the store
        self._prefix = prefix
        self._wakeups = Wakeups(client)
        t = self.timings
        self._common = [
            prefix,
            _ms(t.retention),
            outbox.prefix if outbox is not None else "",
            _ms(outbox.keep) if outbox is not None else 0,
            _ms(t.chat_ttl),
        ]
        self._create = client.register_script(lua.CREATE)
        self._start = client.register_script(lua.START)
        self._heartbeat = client.register_script(lua.HEARTBEAT)
        self._append = client.register_script(lua.APPEND)
        self._end = client.register_script(lua.END)
        self._reap = client.register_script(lua.REAP)
        self._open_chat = client.register_script(lua.OPEN_CHAT)
        self._begin_turn = client.register_script(lua.BEGIN_TURN)
        self._set_delivered = client.register_script(lua.SET_DELIVERED)

    async def _run(self, script: Any, *args: Any) -> Any:
        try:
            return await script(args=[*self._common, *args])
        except RedisError as error:
            raise StateUnavailable(f"sessions are unavailable: {type(error).__name__}") from None

    def _key(self, session_id: str, kind: str) -> str:
        return f"{self._prefix}{session_id}:{kind}"

    # -- sessions ---------------------------------------------------------------------

    async def create(self, spec: SessionSpec) -> SessionInfo:
        session_id, epoch, t = str(uuid.uuid4()), new_epoch(), self.timings
        created = await self._run(
            self._create,
            session_id,
            epoch,
            _ms(t.pending_ttl),
            _ms(t.retention),
            *_spec_args(spec),
        )
        return SessionInfo(session_id, spec, "pending", epoch, 0, int(created) / 1000)

    async def get(self, session_id: str) -> SessionInfo | None:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hgetall(self._key(session_id, "m"))
                pipe.time()
                raw, (seconds, micros) = await pipe.execute()
        except RedisError as error:
            raise StateUnavailable(f"sessions are unavailable: {type(error).__name__}") from None
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        state = _state(fields["state"], fields.get("deadline"), now_ms)
        return SessionInfo(
            session_id,
            _spec(fields),
            state,
            fields["epoch"],
            int(fields["n"]),
            int(fields["created"]) / 1000,
        )

    async def try_start(self, session_id: str, producer: str) -> bool:
        t = self.timings
        started = await self._run(
            self._start, session_id, producer, _ms(t.lease), _ms(t.running_ttl)
        )
        return int(started) == 1

    async def heartbeat(self, session_id: str, producer: str) -> bool:
        t = self.timings
        alive = await self._run(
            self._heartbeat, session_id, producer, _ms(t.lease), _ms(t.running_ttl)
        )
        return int(alive) == 1

    async def append(self, session_id: str, text: str) -> int | None:
        offset = int(
            await self._run(
                self._append, session_id, text, self.timings.max_entries, _ms(self.timings.lease)
            )
        )
        return offset if offset > 0 else None

    async def complete(self, session_id: str, input_tokens: int, output_tokens: int) -> bool:
        ended = await self._run(self._end, session_id, "done", "", "", input_tokens, output_tokens)
        return int(ended) == 1

    async def fail(
        self,
        session_id: str,
        message: str,
        code: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> bool:
        ended = await self._run(
            self._end, session_id, "failed", message, code, input_tokens, output_tokens
        )
        return int(ended) == 1

    async def reap(self, session_id: str) -> bool:
        return int(await self._run(self._reap, session_id)) == 1

    # -- reading ----------------------------------------------------------------------

    def read(
        self, session_id: str, after: str | Cursor | None = None, *, idle: float | None = None
    ) -> AsyncIterator[Outcome]:
        return read_log(self, session_id, after, check=self.timings.check, idle=idle)

    async def snapshot(self, session_id: str, after: int, limit: int) -> Snapshot | None:
        """One atomic look at a session for the read loop (``LogAccess``)."""
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hmget(self._key(session_id, "m"), ["state", "epoch", "n", "deadline"])
                pipe.xrange(self._key(session_id, "l"), min=f"{after + 1}-0", count=limit)
                pipe.exists(self._key(session_id, "h"))
                pipe.time()
                (state, epoch, head, deadline), rows, lease, (sec, micros) = await pipe.execute()
        except RedisError as error:
            raise StateUnavailable(f"sessions are unavailable: {type(error).__name__}") from None
        if state is None:
            return None
        epoch_text = _text(epoch)
        now_ms = int(sec) * 1000 + int(micros) // 1000
        deadline_text = None if deadline is None else _text(deadline)
        return Snapshot(
            _state(_text(state), deadline_text, now_ms),
            epoch_text,
            int(head),
            [_entry(epoch_text, stream_id, fields) for stream_id, fields in rows],
            bool(lease),
        )

    @contextlib.asynccontextmanager
    async def follow(self, session_id: str) -> AsyncIterator[_Follower]:
        """Subscribe to the session's wake-ups on this process's wake-ups (``LogAccess``)."""
        channel = self._key(session_id, "w")
        async with self._wakeups.follow(channel, self.timings.check) as follower:
            yield _Follower(follower)

    # -- chats ------------------------------------------------------------------------

    def _chat_key(self, chat_id: str, kind: str) -> str:
        return f"{self._prefix}chat:{chat_id}:{kind}"

    async def open_chat(self, chat_id: str, owner: str) -> ChatInfo:
        check_chat_id(chat_id)
        found, turn, delivered = await self._run(self._open_chat, chat_id, owner)
        if _text(found) != owner:
            raise PermissionDenied(
                f"chat session {chat_id} belongs to another user", code="forbidden"
            )
        return ChatInfo(chat_id, owner, _text(turn) or None, _text(delivered) or None)

    async def chat_history(self, chat_id: str) -> list[ChatMessage]:
        try:
            rows: Sequence[Any] = await self._client.lrange(self._chat_key(chat_id, "h"), 0, -1)
        except RedisError as error:
            raise StateUnavailable(f"sessions are unavailable: {type(error).__name__}") from None
        messages = [orjson.loads(row) for row in rows]
        return [ChatMessage(m["role"], m["content"]) for m in messages]

    async def begin_turn(self, chat_id: str, content: str, spec: SessionSpec) -> SessionInfo:
        check_chat_id(chat_id)
        session_id, epoch, t = str(uuid.uuid4()), new_epoch(), self.timings
        spec = replace(spec, conversation=chat_id)
        begun = int(
            await self._run(
                self._begin_turn,
                chat_id,
                orjson.dumps({"role": "user", "content": content}),
                session_id,
                epoch,
                _ms(t.pending_ttl),
                _ms(t.retention),
                *_spec_args(spec),
            )
        )
        if begun == -1:
            raise NotFound(f"chat session {chat_id} is unknown or has expired")
        if begun == 0:
            raise InvalidRequest(
                "the previous answer is still being generated", code="turn_in_progress"
            )
        return SessionInfo(session_id, spec, "pending", epoch, 0, begun / 1000)

    async def set_delivered(self, chat_id: str, cursor: Cursor | str) -> None:
        await self._run(self._set_delivered, chat_id, str(cursor))

    async def aclose(self) -> None:
        await self._wakeups.aclose()
        if self._owns_client:
            await self._client.aclose()

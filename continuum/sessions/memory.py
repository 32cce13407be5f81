"""Sessions in this process's memory: the backend without Redis.

Everything runs on the event loop's one thread, so a check and the change it guards
(no ``await`` between them) are atomic. Readers wait on an ``asyncio.Event`` that each
append replaces and sets: every waiter wakes, and the next waiter gets a fresh event.
Time comes from ``clock`` (injectable: TTL tests move it instead of sleeping);
expired sessions are dropped when touched and by a sweep on ``create``.

With an ``outbox``, a session that has a ``resume_url`` records its callback durably
*before* its end becomes visible: a crash in between loses the in-memory buffer
(readers get a reset), never the callback, and the callback id is fixed per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace

from continuum.errors import InvalidRequest, NotFound, PermissionDenied
from continuum.sessions.base import Snapshot
from continuum.sessions.callbacks.model import CallbackPayload, Delivery, Outbox, delivery_id
from continuum.sessions.model import (
    ENDED,
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
from continuum.sessions.reading import BATCH, read_log


@dataclass(slots=True, eq=False)
class _Session:
    id: str
    spec: SessionSpec
    epoch: str
    created: float
    deadline: float  # a pending session expires at this time
    expires: float  # the buffer is dropped at this time
    state: State = "pending"
    entries: list[Entry] = field(default_factory=list)
    producer: str | None = None
    lease_until: float = 0.0
    ending: bool = False  # an end is being recorded (its callback is being written)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        event, self.changed = self.changed, asyncio.Event()
        event.set()

    def info(self) -> SessionInfo:
        return SessionInfo(
            self.id, self.spec, self.state, self.epoch, len(self.entries), self.created
        )


@dataclass(slots=True, eq=False)
class _Chat:
    owner: str
    expires: float
    turn: str | None = None
    delivered: str | None = None
    history: list[ChatMessage] = field(default_factory=list)


class _Follower:
    def __init__(self, sessions: dict[str, _Session], session_id: str):
        self._sessions = sessions
        self._id = session_id

    async def wait(self, epoch: str, after: int, within: float) -> list[Entry] | None:
        """The entries after ``after`` once there are some, or ``None`` after ``within``
        seconds or when the session changed otherwise."""
        session = self._sessions.get(self._id)
        if session is None or session.epoch != epoch or session.state in ENDED:
            return None
        if len(session.entries) <= after:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await session.changed.wait()
        return session.entries[after : after + BATCH] or None


class MemorySessionStore:
    """``SessionStore`` for one process (see ``continuum.sessions.base``)."""

    def __init__(
        self,
        timings: Timings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        outbox: Outbox | None = None,
    ):
        self.timings = timings or Timings()
        self._clock = clock
        self._outbox = outbox
        self._sessions: dict[str, _Session] = {}
        self._chats: dict[str, _Chat] = {}
        self._swept = clock()

    # -- sessions ---------------------------------------------------------------------

    async def create(self, spec: SessionSpec) -> SessionInfo:
        now = self._clock()
        self._sweep(now)
        return self._create(spec, now).info()

    def _create(self, spec: SessionSpec, now: float) -> _Session:
        t = self.timings
        session = _Session(
            str(uuid.uuid4()),
            spec,
            new_epoch(),
            now,
            deadline=now + t.pending_ttl,
            expires=now + t.pending_ttl + t.retention,
        )
        self._sessions[session.id] = session
        return session

    async def get(self, session_id: str) -> SessionInfo | None:
        session = self._live(session_id)
        return None if session is None else session.info()

    async def try_start(self, session_id: str, producer: str) -> bool:
        session = self._live(session_id)
        if session is None or session.state != "pending":
            return False
        now = self._clock()
        session.state = "running"
        session.producer = producer
        session.lease_until = now + self.timings.lease
        session.expires = now + self.timings.running_ttl
        session.wake()
        return True

    async def heartbeat(self, session_id: str, producer: str) -> bool:
        session = self._live(session_id)
        if session is None or session.state != "running" or session.producer != producer:
            return False
        if session.ending:
            return False
        now = self._clock()
        session.lease_until = now + self.timings.lease
        session.expires = now + self.timings.running_ttl
        return True

    async def append(self, session_id: str, text: str) -> int | None:
        session = self._live(session_id)
        if session is None or session.state != "running" or session.ending:
            return None
        if len(session.entries) + 1 >= self.timings.max_entries:
            limit = self.timings.max_entries
            await self._end(
                session, "failed", f"the stream exceeded {limit} entries", "buffer_full"
            )
            return None
        offset = len(session.entries) + 1
        session.entries.append(Piece(Cursor(session.epoch, offset), text))
        session.lease_until = self._clock() + self.timings.lease  # an append is a heartbeat
        session.wake()
        return offset

    async def complete(self, session_id: str, input_tokens: int, output_tokens: int) -> bool:
        session = self._live(session_id)
        if session is None:
            return False
        return await self._end(session, "done", "", "", input_tokens, output_tokens)

    async def fail(
        self,
        session_id: str,
        message: str,
        code: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> bool:
        session = self._live(session_id)
        if session is None:
            return False
        return await self._end(session, "failed", message, code, input_tokens, output_tokens)

    async def reap(self, session_id: str) -> bool:
        session = self._live(session_id)
        if session is None or session.state != "running":
            return False
        if self._clock() < session.lease_until:
            return False
        message = "the stream's producer stopped responding"
        return await self._end(session, "failed", message, "producer_lost")

    async def _end(
        self,
        session: _Session,
        kind: str,
        message: str,
        code: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> bool:
        if session.state in ENDED or session.ending:
            return False
        spec = session.spec
        answer = "".join(entry.text for entry in session.entries if isinstance(entry, Piece))
        if spec.resume_url and self._outbox is not None:
            session.ending = True  # appends and other ends wait out the durable write
            payload = CallbackPayload(
                spec.user_id,
                spec.chat_id,
                spec.prompt,
                answer,
                input_tokens,
                output_tokens,
                code if kind == "failed" else None,
                message if kind == "failed" else None,
            )
            delivery = Delivery(
                delivery_id(session.id), session.id, spec.resume_url, payload, self._clock()
            )
            try:
                await self._outbox.enqueue(delivery)
            finally:
                session.ending = False
        cursor = Cursor(session.epoch, len(session.entries) + 1)
        end: Entry = (
            Done(cursor, input_tokens, output_tokens)
            if kind == "done"
            else Failed(cursor, message, code)
        )
        now = self._clock()
        session.entries.append(end)
        session.state = "done" if kind == "done" else "failed"
        session.expires = now + self.timings.retention
        if kind == "done" and spec.conversation:
            chat = self._chat(spec.conversation)
            if chat is not None:
                chat.history.append(ChatMessage("assistant", answer))
                chat.expires = now + self.timings.chat_ttl
        session.wake()
        return True

    # -- reading ----------------------------------------------------------------------

    def read(
        self, session_id: str, after: str | Cursor | None = None, *, idle: float | None = None
    ) -> AsyncIterator[Outcome]:
        return read_log(self, session_id, after, check=self.timings.check, idle=idle)

    async def snapshot(self, session_id: str, after: int, limit: int) -> Snapshot | None:
        """One look at a session for the read loop (``LogAccess``)."""
        session = self._live(session_id)
        if session is None:
            return None
        return Snapshot(
            session.state,
            session.epoch,
            len(session.entries),
            session.entries[after : after + limit],
            self._clock() < session.lease_until,
        )

    def follow(self, session_id: str) -> AbstractAsyncContextManager[_Follower]:
        """Wake-ups of a session (``LogAccess``): appends set its event."""
        return contextlib.nullcontext(_Follower(self._sessions, session_id))

    # -- chats ------------------------------------------------------------------------

    async def open_chat(self, chat_id: str, owner: str) -> ChatInfo:
        check_chat_id(chat_id)
        now = self._clock()
        chat = self._chat(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(owner, now + self.timings.chat_ttl)
        elif chat.owner != owner:
            raise PermissionDenied(
                f"chat session {chat_id} belongs to another user", code="forbidden"
            )
        chat.expires = now + self.timings.chat_ttl
        return ChatInfo(chat_id, chat.owner, chat.turn, chat.delivered)

    async def chat_history(self, chat_id: str) -> list[ChatMessage]:
        chat = self._chat(chat_id)
        return [] if chat is None else list(chat.history)

    async def begin_turn(self, chat_id: str, content: str, spec: SessionSpec) -> SessionInfo:
        chat = self._chat(chat_id)
        if chat is None:
            raise NotFound(f"chat session {chat_id} is unknown or has expired")
        if chat.turn is not None:
            await self.reap(chat.turn)  # a dead producer must not block the chat forever
            previous = self._live(chat.turn)
            if previous is not None and (
                previous.state in ("pending", "running") or previous.ending
            ):
                raise InvalidRequest(
                    "the previous answer is still being generated", code="turn_in_progress"
                )
        now = self._clock()
        chat.history.append(ChatMessage("user", content))
        session = self._create(replace(spec, conversation=chat_id), now)
        chat.turn = session.id
        chat.delivered = None
        chat.expires = now + self.timings.chat_ttl
        return session.info()

    async def set_delivered(self, chat_id: str, cursor: Cursor | str) -> None:
        chat = self._chat(chat_id)
        if chat is not None:
            chat.delivered = str(cursor)

    async def aclose(self) -> None:
        for session in self._sessions.values():
            session.wake()

    # -- expiry -----------------------------------------------------------------------

    def _live(self, session_id: str) -> _Session | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if now >= session.expires:
            del self._sessions[session_id]
            session.wake()
            return None
        if session.state == "pending" and now >= session.deadline:
            session.state = "expired"
            session.wake()
        return session

    def _chat(self, chat_id: str) -> _Chat | None:
        chat = self._chats.get(chat_id)
        if chat is not None and self._clock() >= chat.expires:
            del self._chats[chat_id]
            return None
        return chat

    def _sweep(self, now: float) -> None:
        if now - self._swept < self.timings.check:
            return
        self._swept = now
        for session_id in [k for k, s in self._sessions.items() if now >= s.expires]:
            self._sessions.pop(session_id).wake()
        for chat_id in [k for k, c in self._chats.items() if now >= c.expires]:
            del self._chats[chat_id]

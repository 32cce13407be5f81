"""The Protocol every session backend keeps (memory: one process; Redis: every replica).

The generation of a session runs on exactly one replica, the one whose ``try_start``
returned ``True``; it appends pieces, heartbeats, and ends the log with ``complete``
or ``fail`` (``Producer`` does all of this). Any replica reads any session with
``read``. Ending a session with a ``resume_url`` records its completion callback in
the same atomic step (see ``continuum.sessions.callbacks``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from continuum.sessions.model import (
    ChatInfo,
    ChatMessage,
    Cursor,
    Entry,
    Outcome,
    SessionInfo,
    SessionSpec,
    State,
    Timings,
)


class SessionStore(Protocol):
    """Durable stream sessions, their logs, and chat sessions' histories."""

    timings: Timings

    async def create(self, spec: SessionSpec) -> SessionInfo:
        """Make a pending session with a fresh id and epoch; it expires if not started
        within ``timings.pending_ttl``."""
        ...

    async def get(self, session_id: str) -> SessionInfo | None:
        """The session, or ``None`` when it is unknown or its buffer is gone."""
        ...

    async def try_start(self, session_id: str, producer: str) -> bool:
        """Claim the generation: ``True`` for exactly one caller, across replicas, and
        only while the session is pending. The caller must then run the producer."""
        ...

    async def heartbeat(self, session_id: str, producer: str) -> bool:
        """Renew the producer's lease; ``False`` if the session is no longer its to
        produce (ended, reaped as dead, or gone): the producer should stop."""
        ...

    async def append(self, session_id: str, text: str) -> int | None:
        """Append a piece and wake the readers in one atomic step; returns its offset.
        ``None``: the session is not running (ended, reaped, gone): stop producing."""
        ...

    async def complete(self, session_id: str, input_tokens: int, output_tokens: int) -> bool:
        """End the log with ``Done``; ``True`` if this call ended it."""
        ...

    async def fail(
        self,
        session_id: str,
        message: str,
        code: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> bool:
        """End the log with ``Failed``; ``True`` if this call ended it."""
        ...

    async def reap(self, session_id: str) -> bool:
        """End a running session whose producer's lease has lapsed with
        ``Failed(code="producer_lost")``; ``True`` if it did."""
        ...

    def read(
        self, session_id: str, after: str | Cursor | None = None, *, idle: float | None = None
    ) -> AsyncIterator[Outcome]:
        """Entries strictly after ``after`` (a ``Cursor`` or its string, e.g. an SSE
        ``Last-Event-ID``; ``None``: from the start): history, then live, ending after
        the terminal entry. A cursor that cannot be honoured yields one ``Reset`` and
        ends. With ``idle``, yields ``Idle`` after that many seconds without an entry."""
        ...

    async def open_chat(self, chat_id: str, owner: str) -> ChatInfo:
        """The chat session ``chat_id``, made for ``owner`` if new. Raises
        ``PermissionDenied`` if it belongs to someone else."""
        ...

    async def chat_history(self, chat_id: str) -> list[ChatMessage]:
        """The chat's messages, oldest first (each turn's answer is added when it ends)."""
        ...

    async def begin_turn(self, chat_id: str, content: str, spec: SessionSpec) -> SessionInfo:
        """Add the user's message to the history and make the session that buffers the
        answer (pending, like ``create``; ``spec.conversation`` is set to ``chat_id``),
        atomically. Raises ``InvalidRequest`` (``turn_in_progress``) while the previous
        turn is still pending or running, ``NotFound`` for an unknown chat."""
        ...

    async def set_delivered(self, chat_id: str, cursor: Cursor | str) -> None:
        """Remember the cursor last sent to a client of the chat (for its reconnect)."""
        ...

    async def aclose(self) -> None:
        """Release connections and background tasks."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a reader sees of a session in one atomic look (backends build these)."""

    state: State
    epoch: str
    head: int
    entries: list[Entry]
    lease_alive: bool

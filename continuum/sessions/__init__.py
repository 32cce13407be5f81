"""Durable stream sessions: generations that outlive the connection that watches them.

    store = MemorySessionStore(timings, outbox=SqlOutbox(database))        # one process
    store = RedisSessionStore(redis, timings, outbox=RedisOutbox(redis))  # every replica

    info = await store.create(SessionSpec(owner, prompt, model, ...))  # /init-stream
    if await store.try_start(info.id, replica_id):                     # exactly one wins
        async with Producer(store, info.id, replica_id) as producer:   # heartbeats
            await producer.append(text) ... await producer.complete(used, made)
    async for outcome in store.read(info.id, after=last_event_id, idle=15):
        Piece | Done | Failed  (each with a cursor, "<epoch>-<offset>", for the SSE id)
        Reset                  (the cursor cannot be honoured; the read ends)
        Idle                   (time for a heartbeat comment)

Chat sessions (seed 003) keep a history and buffer each answer as a session of its own:
``open_chat``, ``chat_history``, ``begin_turn``, ``set_delivered``.

Completion callbacks live in ``continuum.sessions.callbacks`` (outboxes, signing, the
delivery worker). The Redis backend is imported only where it is used
(``continuum.sessions.redis``), so a process without Redis never loads redis-py.
"""

from continuum.sessions.base import SessionStore
from continuum.sessions.memory import MemorySessionStore
from continuum.sessions.model import (
    ChatInfo,
    ChatMessage,
    Cursor,
    Done,
    Entry,
    Failed,
    Idle,
    Outcome,
    Piece,
    Reset,
    SessionInfo,
    SessionSpec,
    State,
    Timings,
)
from continuum.sessions.producer import Producer

__all__ = [
    "ChatInfo",
    "ChatMessage",
    "Cursor",
    "Done",
    "Entry",
    "Failed",
    "Idle",
    "MemorySessionStore",
    "Outcome",
    "Piece",
    "Producer",
    "Reset",
    "SessionInfo",
    "SessionSpec",
    "SessionStore",
    "State",
    "Timings",
]

"""A session's log as Server-Sent Events, exactly as seed 002's frontend reads them.

    id: <epoch>-<offset>           every entry carries its cursor (EventSource's
    data: <piece of text>          Last-Event-ID); a piece with newlines is several
                                   data: lines, which EventSource joins back with \\n
    id: <epoch>-<n>
    data: [DONE]                   the end (seed 002)

    event: error                   the generation failed: a MessageEvent a client can
    id: <epoch>-<n>                tell from a connection error (no [DONE] follows)
    data: {"error": {"code": "…", "message": "…"}}

    event: reset                   the cursor cannot be honoured; id: the restart
    id: <epoch>-0                  cursor when a full replay is possible
    data: {"reason": "…", "message": "…", "restart": "…"}

    : heartbeat                    a comment on an idle stream (proxies keep it open)

SSE carries text as lines, so a carriage return in a piece arrives as a line feed;
everything else arrives byte for byte.
"""

from __future__ import annotations

import orjson

from continuum.sessions.model import Cursor, Done, Failed, Idle, Outcome, Piece, Reset

HEARTBEAT = b": heartbeat\n\n"


def retry_frame(milliseconds: int) -> bytes:
    """How long ``EventSource`` waits before reconnecting after a lost connection."""
    return f"retry: {milliseconds}\n\n".encode()


def event_frame(
    data: str | bytes, event: str | None = None, id: str | Cursor | None = None
) -> bytes:
    """One whole SSE event. Newlines in ``data`` become several ``data:`` lines, so the
    client's ``EventSource`` joins them back into the same text."""
    text = data.decode() if isinstance(data, bytes) else data
    lines = [f"event: {event}"] if event else []
    if id is not None:
        lines.append(f"id: {id}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines += [f"data: {line}" for line in text.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def encode(outcome: Outcome, restart: Cursor | None = None) -> bytes:
    """One outcome of ``SessionStore.read`` as its SSE frame (``restart``: the session's
    start, where a reset of an unreadable cursor may replay from)."""
    if isinstance(outcome, Piece):
        return event_frame(outcome.text, id=outcome.cursor)
    if isinstance(outcome, Done):
        return event_frame("[DONE]", id=outcome.cursor)
    if isinstance(outcome, Failed):
        error = {"error": {"code": outcome.code, "message": outcome.message}}
        return event_frame(orjson.dumps(error), "error", outcome.cursor)
    if isinstance(outcome, Idle):
        return HEARTBEAT
    assert isinstance(outcome, Reset)
    # A garbage cursor says nothing of the buffer, which may still be replayed whole;
    # an expired stream has nothing to replay.
    point = outcome.restart or (restart if outcome.reason == "invalid_cursor" else None)
    data = {
        "reason": outcome.reason,
        "message": outcome.message,
        "restart": None if point is None else str(point),
    }
    return event_frame(orjson.dumps(data), "reset", point)

"""One request's task: the handler's events encoded as frames, within the windows.

The task never pulls the next event while it lacks credit or the socket is not
writable, so a slow reader holds the upstream back instead of filling our memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.doors.tcp import codec
from continuum.doors.tcp.codec import TEXT_HEAD, TEXT_OVERHEAD, TOOL_OVERHEAD
from continuum.doors.tcp.flow import utf8_cut
from continuum.doors.tcp.frames import FrameType
from continuum.doors.tcp.limits import FLUSH_AT
from continuum.doors.tcp.payloads import ErrorInfo
from continuum.doors.tcp.request import INTERNAL
from continuum.errors import ContinuumError

if TYPE_CHECKING:
    from continuum.doors.tcp.connection import ServerConnection
    from continuum.doors.tcp.request import Request

log = logging.getLogger("continuum.tcp")

# A tool call's id and name must fit one frame with room to spare for its arguments.
MAX_TOOL_HEAD = 4096


async def serve(conn: ServerConnection, request: Request, body: bytes) -> None:
    """Run one request to its terminal frame; cancelled by CANCEL, drain or disconnect."""
    try:
        outcome = await _relay(conn, request, body)
    except asyncio.CancelledError:
        if request.cancel_reason is None:  # the connection is gone: nobody to tell
            conn.release(request, None)
            raise
        outcome = request.cancel_reason
    except Exception:  # the door's outermost boundary for one request
        log.exception("TCP request %d from %s failed", request.id, conn.stats.peer)
        outcome = INTERNAL
    conn.release(request, outcome)


async def _relay(conn: ServerConnection, request: Request, body: bytes) -> ErrorInfo | None:
    events: AsyncGenerator[Event, None] | None = None
    try:
        events = conn.server.handler.stream(conn.identity, body)
        request_window = request.window
        connection_window = conn.window
        stats = conn.stats
        push = conn.push
        request_id = request.id
        async for event in events:
            kind = type(event)
            if kind is TextDelta:
                assert isinstance(event, TextDelta)
                # The fast path of nearly every frame: it fits the windows and a frame.
                data = event.text.encode()
                size = len(data) + TEXT_OVERHEAD
                if (
                    size <= request_window.available
                    and size <= connection_window.available
                    and size <= conn.frame_size
                    and not conn.paused
                    and conn.unflushed < FLUSH_AT
                    and data
                ):
                    request_window.available -= size
                    connection_window.available -= size
                    stats.delta_bytes_sent += size
                    push(TEXT_HEAD.pack(size, FrameType.TEXT, 0, request_id, event.choice) + data)
                else:
                    await _send_text(conn, request, event)
            elif kind is ToolCallDelta:
                assert isinstance(event, ToolCallDelta)
                await _send_tool_call(conn, request, event)
            elif kind is Finish:
                assert isinstance(event, Finish)
                request.finished(event)
            elif kind is Usage:
                assert isinstance(event, Usage)
                request.usage = event
            elif kind is ErrorEvent:
                assert isinstance(event, ErrorEvent)
                return ErrorInfo.from_error(event.error)
        return None
    except ContinuumError as error:
        return ErrorInfo.from_error(error)
    finally:
        if events is not None:
            request.closing = True
            await events.aclose()


async def _send_text(conn: ServerConnection, request: Request, event: TextDelta) -> None:
    data = event.text.encode()
    while data:
        cut = await _room(conn, request, TEXT_OVERHEAD, data)
        conn.send_delta(
            codec.encode_text(request.id, event.choice, data[:cut]), cut + TEXT_OVERHEAD, request
        )
        data = data[cut:]


async def _send_tool_call(conn: ServerConnection, request: Request, event: ToolCallDelta) -> None:
    call_id = (event.id or "").encode()
    name = (event.name or "").encode()
    if len(call_id) + len(name) > MAX_TOOL_HEAD:
        raise ContinuumError("a tool call's id and name are too long to relay")
    data = event.arguments.encode()
    while True:
        fixed = TOOL_OVERHEAD + len(call_id) + len(name)
        # A first piece may go without arguments: its id and name are news on their own.
        cut = await _room(conn, request, fixed, data, head_only=fixed > TOOL_OVERHEAD)
        frame = codec.encode_tool_call(
            request.id, event.choice, event.index, call_id, name, data[:cut]
        )
        conn.send_delta(frame, fixed + cut, request)
        data = data[cut:]
        if not data:
            return
        call_id = name = b""


async def _room(
    conn: ServerConnection, request: Request, fixed: int, data: bytes, head_only: bool = False
) -> int:
    """Wait until a frame of ``fixed`` bytes plus a non-empty prefix of ``data`` (or all of
    an empty ``data``, or nothing when ``head_only``) may be sent; the prefix's length,
    cut between UTF-8 characters."""
    while True:
        await conn.writable()
        room = min(request.window.available, conn.window.available, conn.frame_size) - fixed
        if room >= 0:
            cut = utf8_cut(data, room)
            if cut > 0 or not data or head_only:
                return cut
        await conn.credit(request)

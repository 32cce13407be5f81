"""Seed 002's durable streams over HTTP: ``POST /init-stream`` and ``GET /stream/{id}``.

``/init-stream`` answers ``{"ok": true, "streamUrl": "<base>/stream/<id>?access_token=…"}``;
``/stream/{id}`` is the session's log as Server-Sent Events (``dialects/streams/events``):
from the start, or strictly after the ``Last-Event-ID`` header (``EventSource`` sends it
when it reconnects) or the ``last_event_id`` query parameter. Every connect checks the
access token again. Leaving never stops the generation: it runs in a gateway-owned task
(``sessions/generation.py``) and this route only reads its buffer. docs/sessions.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.dialects.streams import events
from continuum.dialects.streams.request import (
    InitStreamAnswer,
    InitStreamRequest,
    StreamErrorData,
    StreamResetData,
)
from continuum.doors.http.auth import credential
from continuum.doors.http.begin import read_json
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of
from continuum.doors.http.sse import EventStreamResponse
from continuum.errors import NotFound
from continuum.sessions import Cursor, Done, Failed, Reset, SessionInfo, SessionStore

router = APIRouter(tags=["Stream sessions (seed 002)"])

RETRY_MS = 1000  # EventSource's reconnect delay after a lost connection (its default is 3 s)
SECRET_PARAMS = frozenset({"access_token"})


@router.post(
    "/init-stream",
    summary="Start a durable stream (seed 002): a session, its streamUrl and its callback",
    **operation(
        body=InitStreamRequest,
        ok=InitStreamAnswer,
        errors=(400, 401, 404, 408, 413, 503),
    ),
)
async def init_stream(request: Request) -> Response:
    gateway = gateway_of(request)
    body = await read_json(request, InitStreamRequest)
    started = await gateway.streams.init(body, client=client_host(request))
    base = gateway.settings.sessions.public_url or str(request.base_url).rstrip("/")
    query = urlencode({"access_token": started.access_token})
    answer = {"ok": True, "streamUrl": f"{base}/stream/{started.info.id}?{query}"}
    return Response(orjson.dumps(answer), media_type="application/json")


_STREAM = operation(
    stream=[StreamErrorData, StreamResetData],
    ok_description="Server-Sent Events: each event's data a piece of the answer (its id a "
    "cursor), then `data: [DONE]`; `event: error` if the generation fails, `event: reset` "
    "if the Last-Event-ID cannot be resumed from. 204 (no content): the Last-Event-ID "
    "is the stream's last event, nothing follows it (EventSource stops reconnecting).",
    errors=(401, 404, 503),
)
_STREAM["responses"][204] = {"description": "The stream has ended at the given Last-Event-ID"}


@router.get("/stream/{stream_id}", summary="Watch a stream (SSE, resumable)", **_STREAM)
async def stream(request: Request, stream_id: str) -> Response:
    token = request.query_params.get("access_token") or credential(request)
    after = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    _hide_token(request)
    gateway = gateway_of(request)
    info = await gateway.streams.attach(stream_id, token)
    if info is None:
        raise NotFound(f"The stream '{stream_id}' is unknown or has expired", code="stream_expired")
    if after and _at_end(info, after):
        return Response(status_code=204)
    heartbeat = gateway.settings.sessions.heartbeat
    body = _frames(gateway.sessions, info, after or None, heartbeat)
    return EventStreamResponse(body, framing=None)


def _at_end(info: SessionInfo, after: str) -> bool:
    """The cursor names the ended stream's terminal entry: nothing can follow it."""
    try:
        cursor = Cursor.parse(after)
    except ValueError:
        return False
    return info.ended and cursor.epoch == info.epoch and cursor.offset == info.head


async def _frames(
    store: SessionStore, info: SessionInfo, after: str | None, heartbeat: float
) -> AsyncIterator[bytes]:
    yield events.retry_frame(RETRY_MS)
    reading = store.read(info.id, after=after, idle=heartbeat)
    try:
        async for outcome in reading:
            yield events.encode(outcome, restart=info.start)
            if isinstance(outcome, Done | Failed | Reset):
                return
    finally:
        await reading.aclose()  # type: ignore[attr-defined]


def _hide_token(request: Request) -> None:
    """Drop the access token from the request's query string once it is read, so no
    access log (uvicorn's reads the same scope when the response starts) records it."""
    raw = request.scope.get("query_string", b"")
    if b"access_token" not in raw:
        return
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k not in SECRET_PARAMS]
    request.scope["query_string"] = urlencode(kept).encode("latin-1")

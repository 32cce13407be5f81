"""``POST /agent/message/stream``: a session's agent reply, streamed to an internal caller.

Seed 003's agent runtime: a gateway proxies a chat session's messages here, with the
internal key in ``X-Internal-Auth``; the reply streams back as SSE ``data:`` events
(``continuum/dialects/agent_runtime``). The reply is the pipeline's, so an agent's model
calls are limited and recorded under the end user the body names, and ``model`` may
name any model this server routes.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.context import RequestContext
from continuum.core.json_body import parse_json
from continuum.core.relay import first_event, relay
from continuum.dialects.agent_runtime import RuntimeEncoder, RuntimeMessage, error_body
from continuum.dialects.agent_runtime.schemas import RuntimeAssistantMessage, RuntimeError
from continuum.doors.http.body import read_body
from continuum.doors.http.disconnect import Disconnect
from continuum.doors.http.headers import response_headers
from continuum.doors.http.internal import internal_principal, require_internal
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of, remember
from continuum.doors.http.sse import EventStreamResponse
from continuum.errors import ContinuumError

PATH = "/agent/message/stream"
router = APIRouter(tags=["Internal services"])


def render_error(error: ContinuumError, headers: dict[str, str]) -> Response:
    """The error shape of this door's paths: ``{"type": "error", "content", "code", "status"}``."""
    return Response(
        error_body(error), status_code=error.status, media_type="application/json", headers=headers
    )


@router.post(
    PATH,
    summary="Stream a session's agent reply (internal services, X-Internal-Auth)",
    **operation(
        body=RuntimeMessage,
        stream=[RuntimeAssistantMessage, RuntimeError],
        errors=(400, 401, 403, 404, 413, 429, 502, 503, 504),
        error_schema=RuntimeError,
    ),
)
async def message_stream(request: Request) -> Response:
    require_internal(request)
    gateway = gateway_of(request)
    pipeline = gateway.pipeline
    body = await read_body(request, gateway.settings.max_body_bytes)
    wire = parse_json(body, RuntimeMessage)
    ctx = RequestContext(
        pipeline.new_id("agentmsg-"),
        internal_principal(wire.user_id),
        door="agent_runtime",
        client=client_host(request),
        user_id=wire.user_id,
    )
    remember(request, ctx)
    events = pipeline.chat(ctx, wire.to_core(ctx.request_id))
    watch = Disconnect(request.receive)
    first = await watch.guard(first_event(events))
    encoder = RuntimeEncoder(wire.session_id)
    return EventStreamResponse(
        relay(first, events, encoder, ctx.request_id), response_headers(ctx), watch=watch
    )

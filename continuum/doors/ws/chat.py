"""``WS /v1/chat/completions/ws``: seed 000's chat over a WebSocket, in the OpenAI dialect.

Each message is one request (``continuum.dialects.openai.socket``); its answer is the
SSE stream's chunk objects, one message each. The kit (``connection``) serves the
requests of a connection in order and renders every failure as the error object.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.routing import WebSocketRoute

from continuum.core.relay import first_event
from continuum.dialects.openai.socket import SocketChunkEncoder, decode_message, socket_error_json
from continuum.doors.ws.connection import Socket, SocketDoor


async def serve_chat(socket: Socket, text: str | bytes) -> None:
    """One chat request: authenticate, validate, stream the chunks."""
    pipeline = socket.gateway.pipeline
    message = decode_message(text)
    ctx = await pipeline.open(
        message.token or socket.credential, door="ws", prefix="chatcmpl-", client=socket.client
    )
    wire = message.request()
    events = pipeline.chat(ctx, wire.to_core(ctx.request_id))
    first = await first_event(events)
    encoder = SocketChunkEncoder(ctx.request_id, int(time.time()), wire.model, wire.include_usage)
    await socket.relay(first, events, encoder, ctx.request_id)


router = APIRouter()
router.routes.append(
    WebSocketRoute("/v1/chat/completions/ws", SocketDoor(serve_chat, socket_error_json))
)

"""``WS /model/ws`` and ``WS /agent/{name}/ws``: seed 001's prompts over a WebSocket.

Each message is ``{"prompt", "user_id"}`` (and ``token``, for a browser); the answer is
``{"type": "chunk", "content"}`` messages, then ``{"type": "complete", "result"}``, or
``{"type": "error", "error": "…"}``. The kit (``connection``) serves a connection's
prompts in order.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.routing import WebSocketRoute

from continuum.core.context import RequestContext
from continuum.core.relay import first_event
from continuum.dialects.simple.answers import AgentEncoder, PromptEncoder
from continuum.dialects.simple.errors import stream_error_json
from continuum.dialects.simple.request import PromptMessage, parse_prompt
from continuum.doors.ws.connection import Socket, SocketDoor


async def _open(socket: Socket, message: PromptMessage, prefix: str) -> RequestContext:
    gateway = socket.gateway
    ctx = await gateway.simple.open(
        gateway.pipeline,
        message.token or socket.credential,
        door="simple-ws",
        prefix=prefix,
        client=socket.client,
    )
    gateway.simple.identify(ctx, gateway.validate_user, message.user_id)
    return ctx


async def serve_prompt(socket: Socket, text: str | bytes) -> None:
    """One prompt for the default model."""
    message = parse_prompt(text, PromptMessage)
    ctx = await _open(socket, message, "prompt-")
    api = socket.gateway.simple
    events = socket.gateway.pipeline.chat(
        ctx, message.to_core(api.default_model(), ctx.request_id, stream=True)
    )
    first = await first_event(events)
    await socket.relay(first, events, PromptEncoder(), ctx.request_id)


async def serve_agent(socket: Socket, text: str | bytes) -> None:
    """One prompt for the agent the path names (404's error for one the gateway lacks)."""
    name: str = socket.websocket.path_params["name"]
    message = parse_prompt(text, PromptMessage)
    ctx = await _open(socket, message, "agentrun-")
    events = socket.gateway.simple.agents(ctx, name, message.prompt)
    first = await first_event(events)
    await socket.relay(first, events, AgentEncoder(), ctx.request_id)


router = APIRouter()
router.routes += [
    WebSocketRoute("/model/ws", SocketDoor(serve_prompt, stream_error_json, door="simple-ws")),
    WebSocketRoute(
        "/agent/{name}/ws", SocketDoor(serve_agent, stream_error_json, door="simple-ws")
    ),
]

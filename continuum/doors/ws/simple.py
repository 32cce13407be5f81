"""``WS /model/ws`` and ``WS /agent/{name}/ws``: seed 001's prompts over a WebSocket.

Each message is ``{"prompt", "user_id"}`` (and ``token``, for a browser); the answer is
``{"type": "chunk", "content"}`` messages, then ``{"type": "complete", "result"}``, or
``{"type": "error", "error": "…"}``. The kit (``connection``) serves a connection's
prompts in order.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter
from starlette.websockets import WebSocket

from continuum.core.context import RequestContext
from continuum.core.relay import first_event
from continuum.dialects.simple.answers import AgentEncoder, PromptEncoder
from continuum.dialects.simple.errors import stream_error_json
from continuum.dialects.simple.request import PromptMessage, parse_prompt
from continuum.doors.ws.connection import Socket, serve_socket

router = APIRouter()


@router.websocket("/model/ws")
async def model_socket(websocket: WebSocket) -> None:
    await serve_socket(websocket, serve_prompt, stream_error_json)


@router.websocket("/agent/{name}/ws")
async def agent_socket(websocket: WebSocket, name: str) -> None:
    await serve_socket(websocket, partial(serve_agent, name), stream_error_json)


async def _open(socket: Socket, message: PromptMessage, prefix: str) -> RequestContext:
    gateway = socket.gateway
    return await gateway.simple.admit(
        gateway.pipeline,
        gateway.validate_user,
        message.token or socket.credential,
        door="simple-ws",
        prefix=prefix,
        client=socket.client,
        user_id=message.user_id,
    )


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


async def serve_agent(name: str, socket: Socket, text: str | bytes) -> None:
    """One prompt for agent ``name`` (404's error for an agent the gateway does not have)."""
    message = parse_prompt(text, PromptMessage)
    ctx = await _open(socket, message, "agentrun-")
    events = socket.gateway.simple.agents(ctx, name, message.prompt)
    first = await first_event(events)
    await socket.relay(first, events, AgentEncoder(), ctx.request_id)

"""Seed 001's prompt API over HTTP: ``POST /model``, ``/model/stream``, ``/agent/{name}``,
``/agent/{name}/stream``.

``{"prompt", "user_id"}`` in; ``{"response", "usage"}`` out for ``/model``, the agent's
``{"prompt", "response", "iterations", "usage"}`` for ``/agent/{name}``. The ``/stream``
forms stream from the model and still answer the whole JSON, as the seed says; sent
``Accept: text/event-stream`` they answer SSE instead, each event's data one of the
WebSocket door's messages (``chunk``, then ``complete``, or the error). Errors are the
seed's ``{"error": "…"}`` (``continuum.dialects.simple.errors``) for these paths.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.agents.records import AgentDone, AgentEvent, AgentResult
from continuum.core.context import RequestContext
from continuum.core.events import ErrorEvent
from continuum.core.relay import E, Encoder, first_event, relay
from continuum.core.stream import collect
from continuum.dialects.simple.answers import AgentEncoder, PromptEncoder, completion_answer
from continuum.dialects.simple.errors import error_json
from continuum.dialects.simple.request import PromptRequest, parse_prompt
from continuum.dialects.simple.schemas import (
    AgentAnswer,
    PromptAnswer,
    PromptChunk,
    PromptComplete,
    PromptError,
)
from continuum.doors.http.auth import credential
from continuum.doors.http.body import read_body
from continuum.doors.http.disconnect import watched
from continuum.doors.http.headers import response_headers
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of, remember
from continuum.doors.http.sse import EventStreamResponse
from continuum.errors import ContinuumError, UpstreamError

router = APIRouter(tags=["Prompt API (seed 001)"])

PATHS = ("/model", "/agent/")
"""The path prefixes whose errors are this API's (``app.error_shapes``)."""

_ERRORS = (400, 401, 403, 404, 413, 429, 502, 503, 504)


def _documented(ok: type[PromptAnswer]) -> dict[str, Any]:
    return operation(
        body=PromptRequest,
        ok=ok,
        stream=[PromptChunk, PromptComplete, PromptError],
        errors=_ERRORS,
        error_schema=PromptError,
    )


def render_error(error: ContinuumError, headers: dict[str, str]) -> Response:
    """This API's error response (registered with ``ErrorShapes`` for ``PATHS``)."""
    return Response(
        error_json(error), status_code=error.status, media_type="application/json", headers=headers
    )


def _json(payload: Any, ctx: RequestContext) -> Response:
    return Response(
        orjson.dumps(payload), media_type="application/json", headers=response_headers(ctx)
    )


def _wants_events(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


async def _open(request: Request, prefix: str) -> tuple[PromptRequest, RequestContext]:
    """Who asks (401 before the body is read), the body (400), its user (403)."""
    gateway = gateway_of(request)
    ctx = await gateway.simple.open(
        gateway.pipeline,
        credential(request),
        door="simple",
        prefix=prefix,
        client=client_host(request),
    )
    remember(request, ctx)
    prompt = parse_prompt(await read_body(request, gateway.settings.max_body_bytes), PromptRequest)
    gateway.simple.identify(ctx, gateway.validate_user, prompt.user_id)
    return prompt, ctx


async def _events(
    request: Request,
    ctx: RequestContext,
    events: AsyncGenerator[E, None],
    encoder: Encoder[E, bytes],
) -> Response:
    first = await watched(request.receive, first_event(events))
    return EventStreamResponse(relay(first, events, encoder, ctx.request_id), response_headers(ctx))


async def _model(request: Request, stream: bool) -> Response:
    prompt, ctx = await _open(request, "prompt-")
    gateway = gateway_of(request)
    core = prompt.to_core(gateway.simple.default_model(), ctx.request_id, stream)
    events = gateway.pipeline.chat(ctx, core)
    if stream and _wants_events(request):
        return await _events(request, ctx, events, PromptEncoder())
    completion = await watched(request.receive, collect(events))
    return _json(completion_answer(completion), ctx)


async def agent_result(events: AsyncGenerator[AgentEvent, None]) -> AgentResult:
    """Run an agent's stream to its result; an ``ErrorEvent`` raises its error."""
    try:
        async for event in events:
            if isinstance(event, AgentDone):
                return event.result
            if isinstance(event, ErrorEvent):
                raise event.error
    finally:
        await events.aclose()
    raise UpstreamError("the agent's run ended without a result")


async def _agent(request: Request, name: str, stream: bool) -> Response:
    prompt, ctx = await _open(request, "agentrun-")
    events = gateway_of(request).simple.agents(ctx, name, prompt.prompt)
    if stream and _wants_events(request):
        return await _events(request, ctx, events, AgentEncoder())
    result = await watched(request.receive, agent_result(events))
    return _json(result.to_dict(), ctx)


@router.post(
    "/model", summary="Answer a prompt with the default model", **_documented(PromptAnswer)
)
async def model(request: Request) -> Response:
    return await _model(request, stream=False)


@router.post(
    "/model/stream",
    summary="Answer a prompt, streamed from the model (SSE with Accept: text/event-stream)",
    **_documented(PromptAnswer),
)
async def model_stream(request: Request) -> Response:
    return await _model(request, stream=True)


@router.post("/agent/{name}", summary="Run an agent on a prompt", **_documented(AgentAnswer))
async def agent(request: Request, name: str) -> Response:
    return await _agent(request, name, stream=False)


@router.post(
    "/agent/{name}/stream",
    summary="Run an agent, streamed (SSE with Accept: text/event-stream)",
    **_documented(AgentAnswer),
)
async def agent_stream(request: Request, name: str) -> Response:
    return await _agent(request, name, stream=True)

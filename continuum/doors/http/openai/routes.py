"""``/v1/models`` and ``/v1/chat/completions``: decode, call the pipeline, encode."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.relay import first_event, relay
from continuum.core.stream import collect
from continuum.dialects.openai.chunks import ChunkEncoder, completion_body, model_object
from continuum.dialects.openai.request import ChatCompletionRequest
from continuum.doors.http.auth import authenticate
from continuum.doors.http.begin import open_request, read_json
from continuum.doors.http.disconnect import Disconnect, watched
from continuum.doors.http.headers import response_headers
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of
from continuum.doors.http.sse import EventStreamResponse

router = APIRouter(tags=["OpenAI"])


def _json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json", headers=headers)


@router.get(
    "/v1/models",
    summary="List the models the caller may use",
    **operation(ok="ListModelsResponse", errors=(401, 503)),
)
async def list_models(request: Request) -> Response:
    principal = await authenticate(request)
    models = gateway_of(request).pipeline.visible_models(principal)
    return _json({"object": "list", "data": [model_object(m) for m in models]})


@router.get(
    "/v1/models/{model_id:path}",
    summary="Retrieve a model the caller may use",
    **operation(ok="Model", errors=(401, 404, 503)),
)
async def retrieve_model(request: Request, model_id: str) -> Response:
    principal = await authenticate(request)
    return _json(model_object(gateway_of(request).pipeline.visible_model(principal, model_id)))


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion",
    **operation(
        body=ChatCompletionRequest,
        ok="CreateChatCompletionResponse",
        stream="CreateChatCompletionStreamResponse",
        errors=(400, 401, 404, 408, 413, 429, 500, 502, 503, 504),
    ),
)
async def chat_completions(request: Request) -> Response:
    ctx = await open_request(request, prefix="chatcmpl-")
    wire = await read_json(request, ChatCompletionRequest)
    events = gateway_of(request).pipeline.chat(ctx, wire.to_core(ctx.request_id))
    created = int(time.time())
    if wire.stream:
        watch = Disconnect(request.receive)
        first = await watch.guard(first_event(events))
        encoder = ChunkEncoder(ctx.request_id, created, wire.model, wire.include_usage)
        return EventStreamResponse(
            relay(first, events, encoder, ctx.request_id), response_headers(ctx), watch=watch
        )
    completion = await watched(request.receive, collect(events))
    body = completion_body(completion, ctx.request_id, created, wire.model)
    return Response(body, media_type="application/json", headers=response_headers(ctx))

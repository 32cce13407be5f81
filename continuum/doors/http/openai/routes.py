"""``/v1/models`` and ``/v1/chat/completions``: decode, call the pipeline, encode."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.context import RequestContext
from continuum.core.events import Event
from continuum.core.stream import collect
from continuum.doors.http.auth import authenticate, pipeline_of
from continuum.doors.http.body import parse_json, read_body
from continuum.doors.http.openai import encode
from continuum.doors.http.openai.wire import ChatCompletionRequest
from continuum.doors.http.sse import EventStreamResponse
from continuum.errors import ContinuumError, UpstreamError

router = APIRouter(tags=["OpenAI"])

_CHAT_BODY = {
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletionRequest"}}
    },
    "required": True,
}


def _json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json", headers=headers)


def parse_chat(body: bytes) -> ChatCompletionRequest:
    return parse_json(body, ChatCompletionRequest)


@router.get("/v1/models", summary="List the models the caller may use")
async def list_models(request: Request) -> Response:
    principal = await authenticate(request)
    models = pipeline_of(request).visible_models(principal)
    return _json({"object": "list", "data": [encode.model_object(m) for m in models]})


@router.get("/v1/models/{model_id:path}", summary="Retrieve a model the caller may use")
async def retrieve_model(request: Request, model_id: str) -> Response:
    principal = await authenticate(request)
    return _json(encode.model_object(pipeline_of(request).visible_model(principal, model_id)))


async def _relay(
    first: Event, events: AsyncGenerator[Event, None], encoder: encode.ChunkEncoder
) -> AsyncIterator[bytes]:
    try:
        data = encoder.encode(first)
        if data is not None:
            yield data
        async for event in events:
            data = encoder.encode(event)
            if data is not None:
                yield data
        yield encode.DONE
    except ContinuumError as error:
        yield encode.error_event(error)
    finally:
        await events.aclose()


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion",
    openapi_extra={"requestBody": _CHAT_BODY},
)
async def chat_completions(request: Request) -> Response:
    pipeline = pipeline_of(request)
    principal = await authenticate(request)
    wire = parse_chat(await read_body(request, request.app.state.settings.max_body_bytes))
    completion_id: str = request.app.state.request_ids.new()
    ctx = RequestContext(completion_id, principal, request.client.host if request.client else None)
    ctx.response_headers["x-request-id"] = completion_id
    request.state.response_headers = ctx.response_headers
    events = pipeline.chat(ctx, wire.to_core(completion_id))
    created = int(time.time())
    if wire.stream:
        try:
            first = await anext(events)
        except StopAsyncIteration:
            raise UpstreamError("the provider returned an empty stream") from None
        encoder = encode.ChunkEncoder(completion_id, created, wire.model, wire.include_usage)
        return EventStreamResponse(_relay(first, events, encoder), ctx.response_headers)
    completion = await collect(events)
    body = encode.completion_body(completion, completion_id, created, wire.model)
    return Response(body, media_type="application/json", headers=ctx.response_headers)

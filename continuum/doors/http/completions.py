"""``POST /v1/completions``: the legacy text-completion endpoint over the chat pipeline.

Each prompt of the request is one chat through the pipeline (limits, routing and a
usage record each), answered in prompt order.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.context import RequestContext
from continuum.core.events import Event
from continuum.core.json_body import parse_json
from continuum.core.pipeline import Pipeline
from continuum.core.relay import first_event, relay
from continuum.core.stream import Completion, collect
from continuum.dialects.openai.completions import (
    CompletionChunkEncoder,
    CompletionRequest,
    completion_body,
)
from continuum.doors.http.auth import credential
from continuum.doors.http.body import read_body
from continuum.doors.http.disconnect import Disconnect, watched
from continuum.doors.http.headers import response_headers
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of, remember
from continuum.doors.http.sse import EventStreamResponse
from continuum.errors import ContinuumError

router = APIRouter(tags=["OpenAI"])


async def _stream(
    pipeline: Pipeline,
    ctx: RequestContext,
    wire: CompletionRequest,
    first: Event,
    events: AsyncGenerator[Event, None],
    encoder: CompletionChunkEncoder,
) -> AsyncGenerator[bytes, None]:
    for number, prompt in enumerate(wire.prompts):
        encoder.prompt(number, prompt)
        if number:
            events = pipeline.chat(ctx, wire.to_core(ctx.request_id, prompt))
            try:
                first = await first_event(events)
            except ContinuumError as error:  # headers are sent: the stream ends with it
                yield encoder.error(error)
                return
        async for frame in relay(first, events, encoder, ctx.request_id):
            yield frame
        if encoder.failed:
            return  # a cut answer never ends with [DONE]
    for frame in encoder.finish():
        yield frame


@router.post(
    "/v1/completions",
    summary="Create a text completion (legacy)",
    **operation(
        body=CompletionRequest,
        ok="CreateCompletionResponse",
        stream="CreateCompletionResponse",
        errors=(400, 401, 403, 404, 413, 429, 500, 502, 503, 504),
    ),
)
async def create_completion(request: Request) -> Response:
    gateway = gateway_of(request)
    pipeline = gateway.pipeline
    ctx = await pipeline.open(
        credential(request), door="http", prefix="cmpl-", client=client_host(request)
    )
    remember(request, ctx)
    wire = parse_json(await read_body(request, gateway.settings.max_body_bytes), CompletionRequest)
    requests = [wire.to_core(ctx.request_id, prompt) for prompt in wire.prompts]
    created = int(time.time())
    if wire.stream:
        watch = Disconnect(request.receive)
        events = pipeline.chat(ctx, requests[0])
        first = await watch.guard(first_event(events))
        encoder = CompletionChunkEncoder(wire, ctx.request_id, created)
        body = _stream(pipeline, ctx, wire, first, events, encoder)
        return EventStreamResponse(body, response_headers(ctx), watch=watch)

    async def every() -> list[Completion]:
        return [await collect(pipeline.chat(ctx, chat)) for chat in requests]

    completions = await watched(request.receive, every())
    payload = completion_body(completions, wire, ctx.request_id, created)
    return Response(payload, media_type="application/json", headers=response_headers(ctx))

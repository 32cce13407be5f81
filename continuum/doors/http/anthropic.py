"""The Anthropic door: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``.

Anthropic's SDKs and the tools built on them point their base URL here. The caller's key
comes in ``x-api-key`` (Anthropic's header) or as a bearer token (what recent SDKs
send); ``anthropic-version`` and ``anthropic-beta`` are accepted and not checked: the
shapes served are those of version 2023-06-01, which every SDK version reads. Errors on
these paths are Anthropic's error object (``anthropic_error``, registered for the path
prefix in ``app.py``), 404/405/bad JSON included.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.context import RequestContext
from continuum.core.json_body import parse_json
from continuum.core.relay import first_event, relay
from continuum.core.stream import collect
from continuum.dialects.anthropic.errors import error_json, status_and_type
from continuum.dialects.anthropic.events import StreamEncoder
from continuum.dialects.anthropic.message import message_body
from continuum.dialects.anthropic.request import CountTokensRequest, MessagesRequest
from continuum.dialects.anthropic.schemas import (
    AnthropicErrorResponse,
    MessageResponse,
    MessageStreamEvent,
    TokenCount,
)
from continuum.doors.http.auth import api_key
from continuum.doors.http.body import read_body
from continuum.doors.http.disconnect import Disconnect
from continuum.doors.http.headers import response_headers
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of, remember
from continuum.doors.http.sse import EventStreamResponse
from continuum.errors import ContinuumError

PREFIX = "/v1/messages"
DOOR = "anthropic"

router = APIRouter(tags=["Anthropic"])


def anthropic_error(error: ContinuumError, headers: dict[str, str]) -> Response:
    """The ``ErrorShapes`` renderer of the Messages paths."""
    status, _ = status_and_type(error)
    request_id = headers.get("x-request-id")
    if request_id:
        headers["request-id"] = request_id  # where Anthropic's SDKs look for it
    return Response(
        error_json(error, request_id),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _headers(ctx: RequestContext) -> dict[str, str]:
    headers = response_headers(ctx)
    headers["request-id"] = ctx.request_id
    return headers


async def _open(request: Request, prefix: str) -> tuple[RequestContext, bytes]:
    gateway = gateway_of(request)
    ctx = await gateway.pipeline.open(
        api_key(request), door=DOOR, prefix=prefix, client=client_host(request)
    )
    remember(request, ctx)
    return ctx, await read_body(request, gateway.settings.max_body_bytes)


_ERRORS = (400, 401, 403, 404, 413, 429, 500, 504, 529)


@router.post(
    PREFIX,
    summary="Create a message (Anthropic Messages API)",
    **operation(
        body=MessagesRequest,
        ok=MessageResponse,
        stream=MessageStreamEvent,
        ok_description="The message, or its events",
        errors=_ERRORS,
        error_schema=AnthropicErrorResponse,
    ),
)
async def messages(request: Request) -> Response:
    ctx, body = await _open(request, "msg_")
    pipeline = gateway_of(request).pipeline
    wire = parse_json(body, MessagesRequest)
    chat = wire.to_core(ctx.request_id)
    # message_start announces the prompt's count before the answer's own usage is known.
    input_tokens = await pipeline.count_tokens(ctx, chat) if wire.stream else 0
    events = pipeline.chat(ctx, chat)
    watch = Disconnect(request.receive)
    if wire.stream:
        first = await watch.guard(first_event(events))
        encoder = StreamEncoder(ctx.request_id, wire.model, input_tokens)
        return EventStreamResponse(
            relay(first, events, encoder, ctx.request_id),
            _headers(ctx),
            framing=None,
            watch=watch,
        )
    completion = await watch.guard(collect(events))
    watch.stop()
    # The prompt's count, for a provider that reported no usage.
    input_tokens = 0 if completion.usage else await pipeline.count_tokens(ctx, chat)
    return Response(
        message_body(completion, ctx.request_id, wire.model, input_tokens),
        media_type="application/json",
        headers=_headers(ctx),
    )


@router.post(
    f"{PREFIX}/count_tokens",
    summary="Count the input tokens of a message (Anthropic Messages API)",
    **operation(
        body=CountTokensRequest,
        ok=TokenCount,
        errors=_ERRORS,
        error_schema=AnthropicErrorResponse,
    ),
)
async def count_tokens(request: Request) -> Response:
    """Counted by the model's own tokenizer when its provider has one (the local models),
    else estimated; authenticated and permission-checked, never rate-limited or recorded
    (nothing is generated)."""
    ctx, body = await _open(request, "req_")
    wire = parse_json(body, CountTokensRequest)
    counted = await gateway_of(request).pipeline.count_tokens(ctx, wire.to_core(ctx.request_id))
    return Response(
        orjson.dumps({"input_tokens": counted}),
        media_type="application/json",
        headers=_headers(ctx),
    )

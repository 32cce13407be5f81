"""``/v1/responses``: the OpenAI Responses API over the same pipeline as chat.

Create decodes the body into the core ``ChatRequest`` (after the conversation of
``previous_response_id``, read from the response store), runs ``Pipeline.chat`` and
answers the Response object or its stream of events. Stored responses belong to the
key that made them: for any other key they do not exist (404).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.context import Principal, RequestContext
from continuum.core.events import Event
from continuum.core.json_body import parse_json
from continuum.core.relay import first_event, relay
from continuum.dialects.responses.events import EventEncoder
from continuum.dialects.responses.items import item_page
from continuum.dialects.responses.output import Head, Output
from continuum.dialects.responses.request import CreateResponseRequest
from continuum.doors.http.auth import authenticate, credential
from continuum.doors.http.body import read_body
from continuum.doors.http.disconnect import Disconnect, watched
from continuum.doors.http.headers import response_headers
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of, remember
from continuum.doors.http.sse import EventStreamResponse
from continuum.errors import ContinuumError, InvalidRequest, NotFound
from continuum.responses.store import ResponseStore, StoredResponse

router = APIRouter(tags=["Responses"])

CREATE_ERRORS = (400, 401, 403, 404, 413, 429, 500, 502, 503, 504)
# The official schemas of the events a stream of ours may hold (dialects/responses/events.py).
EVENTS = (
    "ResponseCreatedEvent",
    "ResponseInProgressEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseContentPartAddedEvent",
    "ResponseTextDeltaEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseTextDoneEvent",
    "ResponseContentPartDoneEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseCompletedEvent",
    "ResponseIncompleteEvent",
    "ResponseErrorEvent",
    "ResponseFailedEvent",
)
READ_ERRORS = (400, 401, 404, 503)


class ResponseDeleted(BaseModel):
    """The answer to deleting a stored response."""

    id: str
    object: Literal["response"] = "response"
    deleted: Literal[True] = True


def owner_of(principal: Principal) -> str:
    """Stored responses belong to the key that made them."""
    return principal.key_id or principal.id


def _json(payload: bytes, ctx: RequestContext | None = None) -> Response:
    headers = response_headers(ctx) if ctx is not None else None
    return Response(payload, media_type="application/json", headers=headers)


async def _conversation(
    store: ResponseStore, owner: str, previous_id: str | None
) -> list[dict[str, Any]]:
    """What the previous response read and wrote: the context a follow-up continues."""
    if previous_id is None:
        return []
    try:
        previous = await store.get(owner, previous_id)
    except NotFound:
        raise NotFound(
            f"Previous response with id '{previous_id}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        ) from None
    items: list[dict[str, Any]] = orjson.loads(previous.input)
    return [*items, *orjson.loads(previous.body)["output"]]


class _Saving:
    """Stores a finished response when the request asked for it (``store``, the default)."""

    def __init__(self, store: ResponseStore, owner: str, wire: CreateResponseRequest):
        self._store = store
        self._owner = owner
        self.wanted = wire.stored
        self.conversation: list[dict[str, Any]] = []

    async def save(self, response: dict[str, Any]) -> bytes:
        body = orjson.dumps(response)
        if self.wanted:
            stored = StoredResponse(
                response["id"], response["status"], body, orjson.dumps(self.conversation)
            )
            await self._store.save(self._owner, response["created_at"], stored)
        return body


async def _stream(
    first: Event,
    events: AsyncGenerator[Event, None],
    encoder: EventEncoder,
    saving: _Saving,
    request_id: str,
) -> AsyncGenerator[bytes, None]:
    async for frame in relay(first, events, encoder, request_id):
        yield frame
    # Let the writer send what is gathered (the whole answer, from a fast model) before
    # the database work that precedes the last event: SQLAlchemy's preparation runs
    # before its first wait and held the answer back by a millisecond.
    if saving.wanted:
        await asyncio.sleep(0)
    response = encoder.final(int(time.time()))
    try:
        body = await saving.save(response)
    except ContinuumError as error:  # the database is down: the answer cannot be kept
        yield encoder.error(error)
        response = encoder.final(int(time.time()))
        body = orjson.dumps(response)
    yield encoder.terminal(response, body)


@router.post(
    "/v1/responses",
    summary="Create a model response",
    **operation(
        body=CreateResponseRequest,
        ok="Response",
        stream=EVENTS,
        errors=CREATE_ERRORS,
    ),
)
async def create_response(request: Request) -> Response:
    gateway = gateway_of(request)
    pipeline = gateway.pipeline
    ctx = await pipeline.open(
        credential(request), door="http", prefix="resp_", client=client_host(request)
    )
    remember(request, ctx)
    wire = parse_json(
        await read_body(request, gateway.settings.max_body_bytes), CreateResponseRequest
    )
    owner = owner_of(ctx.principal)
    saving = _Saving(gateway.responses, owner, wire)
    conversation = await _conversation(gateway.responses, owner, wire.previous_response_id)
    conversation += wire.input_resources(pipeline.new_id)
    saving.conversation = conversation
    events = pipeline.chat(ctx, wire.to_core(ctx.request_id, conversation))
    head = Head(ctx.request_id, int(time.time()), wire.response_fields())
    output = Output(pipeline.new_id)
    if wire.stream:
        watch = Disconnect(request.receive)
        first = await watch.guard(first_event(events))
        encoder = EventEncoder(head, output)
        return EventStreamResponse(
            _stream(first, events, encoder, saving, ctx.request_id),
            response_headers(ctx),
            framing=None,
            watch=watch,
        )

    async def whole() -> bytes:
        await output.collect(events)
        return await saving.save(head.final(output, int(time.time())))

    return _json(await watched(request.receive, whole()), ctx)


@router.get(
    "/v1/responses/{response_id}",
    summary="Retrieve a stored response",
    **operation(ok="Response", errors=READ_ERRORS),
)
async def retrieve_response(
    request: Request,
    response_id: str,
    stream: bool = Query(False, description="Replaying a stored stream is not supported."),
) -> Response:
    principal = await authenticate(request)
    if stream:
        raise InvalidRequest("Streaming a stored response is not supported", param="stream")
    stored = await gateway_of(request).responses.get(owner_of(principal), response_id)
    return _json(stored.body)


@router.delete(
    "/v1/responses/{response_id}",
    summary="Delete a stored response",
    **operation(ok=ResponseDeleted, errors=(401, 404, 503)),
)
async def delete_response(request: Request, response_id: str) -> Response:
    principal = await authenticate(request)
    await gateway_of(request).responses.delete(owner_of(principal), response_id)
    return _json(ResponseDeleted(id=response_id).model_dump_json().encode())


@router.get(
    "/v1/responses/{response_id}/input_items",
    summary="List a stored response's input items",
    **operation(ok="ResponseItemList", errors=READ_ERRORS),
)
async def list_input_items(
    request: Request,
    response_id: str,
    limit: int = Query(20, ge=1, le=100, description="Items per page, 1 to 100."),
    order: Literal["asc", "desc"] = Query("desc", description="Oldest or newest first."),
    after: str | None = Query(None, description="The last item id of the previous page."),
) -> Response:
    principal = await authenticate(request)
    stored = await gateway_of(request).responses.get(owner_of(principal), response_id)
    page = item_page(orjson.loads(stored.input), limit=limit, order=order, after=after)
    return _json(orjson.dumps(page))

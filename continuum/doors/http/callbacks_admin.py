"""``/admin/callbacks``: the completion callbacks of streams, for an operator.

Deliveries given up (every attempt failed, or the receiver answered 410) are kept;
an admin lists them, reads one, and sends one again with fresh attempts (its
``webhook-id`` stays the stream's, so a receiver that did get it can tell).
Prompts and answers are not shown: the admin API shows where a callback goes and how
its attempts went, never the conversation.
"""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from continuum.doors.http.auth import require_admin
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of
from continuum.errors import NotConfigured, NotFound
from continuum.sessions.callbacks.model import DeliveryRecord, Outbox

router = APIRouter(prefix="/admin/callbacks", tags=["Admin"])


class CallbackObject(BaseModel):
    """One stream's callback delivery as the outbox keeps it."""

    id: str  # the webhook-id, msg_<stream id>
    object: Literal["callback"]
    stream_id: str
    url: str
    state: Literal["pending", "delivered", "exhausted"]
    attempts: int
    next_at: float | None
    last_status: int | None
    last_error: str | None
    created: float
    updated: float
    userId: str | None
    chatId: str | None
    input_tokens: int
    output_tokens: int
    error_code: str | None


class CallbackList(BaseModel):
    object: Literal["list"]
    data: list[CallbackObject]


def _object(record: DeliveryRecord) -> dict[str, object]:
    d, p = record.delivery, record.delivery.payload
    return {
        "id": d.id,
        "object": "callback",
        "stream_id": d.session_id,
        "url": d.url,
        "state": record.state,
        "attempts": record.attempts,
        "next_at": record.next_at,
        "last_status": record.last_status,
        "last_error": record.last_error,
        "created": d.created,
        "updated": record.updated,
        "userId": p.user_id,
        "chatId": p.chat_id,
        "input_tokens": p.input_tokens,
        "output_tokens": p.output_tokens,
        "error_code": p.error_code,
    }


def _json(payload: object) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


async def _outbox(request: Request) -> Outbox:
    await require_admin(request)
    worker = gateway_of(request).callbacks
    if worker is None:
        raise NotConfigured("Callbacks are not configured: set CONTINUUM_WEBHOOK_SECRET.")
    return worker.outbox


async def _record(outbox: Outbox, delivery_id: str) -> DeliveryRecord:
    record = await outbox.get(delivery_id)
    if record is None:
        raise NotFound(f"No callback '{delivery_id}'", param="delivery_id")
    return record


@router.get(
    "",
    summary="List the callbacks given up after their last attempt (newest first)",
    **operation(ok=CallbackList, errors=(400, 401, 403, 503)),
)
async def list_exhausted(
    request: Request, limit: int = Query(default=100, ge=1, le=1000)
) -> Response:
    outbox = await _outbox(request)
    records = await outbox.exhausted(limit)
    return _json({"object": "list", "data": [_object(r) for r in records]})


@router.get(
    "/{delivery_id}",
    summary="Read a callback's delivery (msg_<stream id>)",
    **operation(ok=CallbackObject, errors=(401, 403, 404, 503)),
)
async def get_callback(request: Request, delivery_id: str) -> Response:
    outbox = await _outbox(request)
    return _json(_object(await _record(outbox, delivery_id)))


@router.post(
    "/{delivery_id}/requeue",
    summary="Send a given-up callback again, with fresh attempts and the same webhook-id",
    **operation(ok=CallbackObject, errors=(401, 403, 404, 503)),
)
async def requeue(request: Request, delivery_id: str) -> Response:
    outbox = await _outbox(request)
    if not await outbox.requeue(delivery_id):
        await _record(outbox, delivery_id)  # 404 if unknown
        raise NotFound(f"The callback '{delivery_id}' is not given up", param="delivery_id")
    worker = gateway_of(request).callbacks
    if worker is not None:
        worker.wake()
    return _json(_object(await _record(outbox, delivery_id)))

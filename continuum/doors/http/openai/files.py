"""``/v1/files``: upload, list, retrieve, download and delete, over the gateway's file store.

Every route authenticates the key and counts one request against its limits
(``Pipeline.admit``); files belong to the key's principal, and anyone else is told
they do not exist (404). The shapes are OpenAI's (``OpenAIFile``, ``ListFilesResponse``,
``DeleteFileResponse``), from ``continuum.files.objects``.
"""

from __future__ import annotations

import mimetypes
from typing import Any, cast
from urllib.parse import quote

import orjson
from fastapi import APIRouter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from continuum.core.context import RequestContext
from continuum.doors.http.auth import credential
from continuum.doors.http.body import declared_length
from continuum.doors.http.headers import response_headers
from continuum.doors.http.multipart import boundary_of
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of, remember
from continuum.doors.http.uploads import FORM_OVERHEAD, UploadForm, file_too_large, receive
from continuum.errors import ClientClosed, InvalidRequest
from continuum.files.objects import MAX_LIMIT, Order
from continuum.gateway import Gateway

router = APIRouter(tags=["Files"])
ORDERS = ("asc", "desc")

_ERRORS = (400, 401, 404, 429, 503)
_UPLOAD = operation(
    body="CreateFileRequest",
    body_media="multipart/form-data",
    ok="OpenAIFile",
    errors=(400, 401, 413, 429, 503),
)
_LISTING = operation(ok="ListFilesResponse", errors=_ERRORS)
_LISTING["openapi_extra"]["parameters"] = [
    {"in": "query", "name": "purpose", "schema": {"type": "string"}},
    {"in": "query", "name": "limit", "schema": {"type": "integer", "default": MAX_LIMIT}},
    {
        "in": "query",
        "name": "order",
        "schema": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    },
    {"in": "query", "name": "after", "schema": {"type": "string"}},
]
_CONTENT = operation(errors=_ERRORS)
_CONTENT["responses"][200]["content"] = {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
}


async def _open(request: Request) -> tuple[Gateway, RequestContext]:
    gateway = gateway_of(request)
    pipeline = gateway.pipeline
    ctx = await pipeline.open(
        credential(request), door="http", prefix="req_", client=client_host(request)
    )
    remember(request, ctx)
    await pipeline.admit(ctx)
    return gateway, ctx


def _json(payload: dict[str, Any], ctx: RequestContext) -> Response:
    return Response(
        orjson.dumps(payload), media_type="application/json", headers=response_headers(ctx)
    )


@router.post("/v1/files", summary="Upload a file", **_UPLOAD)
async def create_file(request: Request) -> Response:
    gateway, ctx = await _open(request)
    limit = gateway.settings.max_file_bytes
    length = declared_length(request)
    if length is not None and length > limit + FORM_OVERHEAD:
        raise file_too_large(limit)  # refused before a byte of the body is read
    form = UploadForm(request.stream(), boundary_of(request.headers.get("content-type")), limit)
    try:
        made = await receive(form, gateway.files, ctx.principal.id, gateway.settings.data_dir)
    except ClientDisconnect:
        raise ClientClosed("The client closed the connection during the upload.") from None
    return _json(made.to_dict(), ctx)


@router.get("/v1/files", summary="List the caller's files", **_LISTING)
async def list_files(request: Request) -> Response:
    gateway, ctx = await _open(request)
    query = request.query_params
    order = query.get("order") or "desc"
    if order not in ORDERS:
        raise InvalidRequest("order must be 'asc' or 'desc'", param="order")
    page = await gateway.files.list(
        ctx.principal.id,
        purpose=query.get("purpose") or None,
        limit=_limit(query.get("limit")),
        after=query.get("after") or None,  # an empty page's last_id is ""
        order=cast("Order", order),
    )
    return _json(page_body(page.to_dict()), ctx)


def _limit(raw: str | None) -> int:
    if not raw:
        return MAX_LIMIT
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"limit must be an integer, not '{raw[:40]}'", param="limit") from None


def page_body(body: dict[str, Any]) -> dict[str, Any]:
    """``ListFilesResponse`` requires ``first_id``/``last_id`` as strings; an empty page
    has no ids, so it says ``""`` (and ``after=""`` reads as no cursor)."""
    return body | {"first_id": body["first_id"] or "", "last_id": body["last_id"] or ""}


@router.get(
    "/v1/files/{file_id}",
    summary="Retrieve a file's metadata",
    **operation(ok="OpenAIFile", errors=_ERRORS),
)
async def retrieve_file(request: Request, file_id: str) -> Response:
    gateway, ctx = await _open(request)
    return _json((await gateway.files.get(ctx.principal.id, file_id)).to_dict(), ctx)


@router.get("/v1/files/{file_id}/content", summary="Download a file's contents", **_CONTENT)
async def file_content(request: Request, file_id: str) -> Response:
    gateway, ctx = await _open(request)
    owner = ctx.principal.id
    found = await gateway.files.get(owner, file_id)
    chunks = await gateway.files.content(owner, file_id)
    kind = mimetypes.guess_type(found.filename)[0] or "application/octet-stream"
    headers = response_headers(ctx) | {
        "content-length": str(found.bytes),
        "content-disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
    }
    return StreamingResponse(chunks, media_type=kind, headers=headers)


@router.delete(
    "/v1/files/{file_id}",
    summary="Delete a file",
    **operation(ok="DeleteFileResponse", errors=_ERRORS),
)
async def delete_file(request: Request, file_id: str) -> Response:
    gateway, ctx = await _open(request)
    return _json((await gateway.files.delete(ctx.principal.id, file_id)).to_dict(), ctx)

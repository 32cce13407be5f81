"""``POST /v1/embeddings``: decode, call the pipeline, encode."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.core.json_body import parse_json
from continuum.dialects.openai.embeddings import CreateEmbeddingBody, embeddings_body
from continuum.doors.http.auth import credential
from continuum.doors.http.body import read_body
from continuum.doors.http.disconnect import watched
from continuum.doors.http.headers import response_headers
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import client_host, gateway_of, remember

router = APIRouter(tags=["OpenAI"])


@router.post(
    "/v1/embeddings",
    summary="Create embedding vectors of texts or token arrays",
    **operation(
        body=CreateEmbeddingBody,
        ok="CreateEmbeddingResponse",
        errors=(400, 401, 403, 404, 413, 429, 502, 503, 504),
    ),
)
async def create_embeddings(request: Request) -> Response:
    gateway = gateway_of(request)
    pipeline = gateway.pipeline
    ctx = await pipeline.open(
        credential(request), door="http", prefix="embd-", client=client_host(request)
    )
    remember(request, ctx)
    body = await read_body(request, gateway.settings.max_body_bytes)
    wire = parse_json(body, CreateEmbeddingBody)
    found = await watched(request.receive, pipeline.embed(ctx, wire.to_core(ctx.request_id)))
    return Response(
        embeddings_body(found, wire.model, wire.encoding_format),
        media_type="application/json",
        headers=response_headers(ctx),
    )

"""``POST /v1/embeddings``: decode, call the pipeline, encode."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.dialects.openai.embeddings import CreateEmbeddingBody, embeddings_body
from continuum.doors.http.begin import open_request, read_json
from continuum.doors.http.disconnect import watched
from continuum.doors.http.headers import response_headers
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of

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
    ctx = await open_request(request, prefix="embd-")
    wire = await read_json(request, CreateEmbeddingBody)
    embed = gateway_of(request).pipeline.embed(ctx, wire.to_core(ctx.request_id))
    found = await watched(request.receive, embed)
    return Response(
        embeddings_body(found, wire.model, wire.encoding_format),
        media_type="application/json",
        headers=response_headers(ctx),
    )

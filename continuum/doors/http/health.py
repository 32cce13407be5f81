"""``GET /health``: liveness for load balancers and the Docker healthcheck."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum import __version__
from continuum.doors.http.services import gateway_of

router = APIRouter(tags=["Operations"])


@router.get("/health", summary="Service health")
async def health(request: Request) -> Response:
    models = len(gateway_of(request).pipeline.table.routes())
    body = f'{{"status":"ok","version":"{__version__}","models":{models}}}'
    return Response(body, media_type="application/json")

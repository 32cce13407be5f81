"""``GET /health``: liveness for load balancers and the Docker healthcheck."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum import __version__

router = APIRouter(tags=["Operations"])


@router.get("/health", summary="Service health")
async def health(request: Request) -> Response:
    models = len(request.app.state.pipeline.table.routes())
    body = f'{{"status":"ok","version":"{__version__}","models":{models}}}'
    return Response(body, media_type="application/json")

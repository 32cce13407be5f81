"""``GET /health``: liveness for load balancers and the Docker healthcheck."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from continuum import __version__
from continuum.doors.http.openapi import operation
from continuum.doors.http.services import gateway_of

router = APIRouter(tags=["Operations"])


class Health(BaseModel):
    """The gateway is up: its version and how many models it serves."""

    status: Literal["ok"]
    version: str
    models: int


@router.get("/health", summary="Service health", **operation(ok=Health))
async def health(request: Request) -> Response:
    models = len(gateway_of(request).pipeline.table.routes())
    body = f'{{"status":"ok","version":"{__version__}","models":{models}}}'
    return Response(body, media_type="application/json")

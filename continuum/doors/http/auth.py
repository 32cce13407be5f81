"""Turning an HTTP request's credentials into a principal."""

from __future__ import annotations

from starlette.requests import Request

from continuum.auth.keys import bearer
from continuum.core.context import Principal
from continuum.core.pipeline import Pipeline


def pipeline_of(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


async def authenticate(request: Request) -> Principal:
    return await pipeline_of(request).authenticate(bearer(request.headers.get("authorization")))

"""A tiny ASGI app around ``Metrics``, for the tests that run it in worker processes.

    PROMETHEUS_MULTIPROC_DIR=<dir> uvicorn tests.observability.metrics_app:create --factory --workers 2

``POST /record`` records one finished request (and answers the worker's pid),
``GET /metrics`` is the real ``MetricsEndpoint``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from continuum.observability.exposition import MetricsEndpoint
from continuum.observability.metrics import Metrics
from continuum.observability.multiprocess import ENV


def create() -> Starlette:
    directory = os.environ.get(ENV)
    metrics = Metrics(
        multiprocess_dir=Path(directory) if directory else None,
        flush_interval=float(os.environ.get("TEST_METRICS_FLUSH", "1.0")),
    )

    async def record(request: Request) -> JSONResponse:
        metrics.request_finished("openai", "local-text", "local", 200, 0.02, 0.004, 7, 11)
        return JSONResponse({"pid": os.getpid()})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await metrics.start()
        try:
            yield
        finally:
            await metrics.aclose()

    routes = [
        Route("/record", record, methods=["POST"]),
        Route("/metrics", MetricsEndpoint(metrics), methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)

"""How an HTTP route begins a request: open its context, then read its JSON body.

    ctx = await open_request(request, prefix="chatcmpl-")
    wire = await read_json(request, ChatCompletionRequest)

The key is checked before the body is read (401 before 400), and the context is kept
on the request so an error response still carries its id and rate-limit headers.
"""

from __future__ import annotations

from starlette.requests import Request

from continuum.core.context import RequestContext
from continuum.core.json_body import M, parse_json
from continuum.doors.http.auth import credential as bearer_credential
from continuum.doors.http.body import read_body
from continuum.doors.http.services import client_host, gateway_of, remember


async def open_request(
    request: Request, *, prefix: str, door: str = "http", credential: str | None = None
) -> RequestContext:
    """Authenticate (the bearer key unless ``credential`` is given) and start the request."""
    key = credential if credential is not None else bearer_credential(request)
    ctx = await gateway_of(request).pipeline.open(
        key, door=door, prefix=prefix, client=client_host(request)
    )
    remember(request, ctx)
    return ctx


async def read_json(request: Request, model: type[M]) -> M:
    """The body, bounded by the configured limit, validated into ``model``."""
    limit = gateway_of(request).settings.max_body_bytes
    return parse_json(await read_body(request, limit), model)  # under the body deadline

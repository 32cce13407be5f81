"""The one typed way an HTTP route reaches the gateway and its request's context."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from continuum.core.context import RequestContext
from continuum.gateway import Gateway


def gateway_of(connection: HTTPConnection) -> Gateway:
    gateway: Gateway = connection.app.state.gateway
    return gateway


def remember(connection: HTTPConnection, ctx: RequestContext) -> None:
    """Keep the request's context, so an error response still carries its id and limits."""
    connection.state.ctx = ctx


def context_of(connection: HTTPConnection) -> RequestContext | None:
    ctx: RequestContext | None = getattr(connection.state, "ctx", None)
    return ctx


def client_host(connection: HTTPConnection) -> str | None:
    return connection.client.host if connection.client else None

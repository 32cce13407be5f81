"""The TCP door's place in a gateway's lifecycle: listen while the gateway runs.

    async with gateway, TcpDoor(gateway) as door:   # listens when settings.tcp.enabled
        ...serve HTTP...
        door.drain()        # optional: start GOAWAY early, e.g. when HTTP starts draining
                            # on exit: GOAWAY, drain (settings.tcp.drain_timeout), close

It closes before the gateway does, so the requests it drains are still settled and
their usage records are in the ledger when the gateway flushes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType

from continuum.doors.tcp.gateway_handler import GatewayHandler
from continuum.doors.tcp.limits import TcpLimits
from continuum.doors.tcp.server import TcpServer
from continuum.errors import ConfigError
from continuum.gateway import Gateway
from continuum.settings import Settings, TcpSettings

log = logging.getLogger("continuum.tcp")


def tcp_limits(settings: TcpSettings) -> TcpLimits:
    """The per-connection limits the settings ask for; the protocol's defaults otherwise."""
    return TcpLimits(
        handshake_timeout=float(settings.handshake_timeout),
        max_concurrent_requests=settings.max_concurrent_requests,
        initial_request_window=settings.request_window,
        initial_connection_window=settings.connection_window,
    )


def port_unavailable(settings: Settings, error: OSError) -> ConfigError:
    """The TCP door's port cannot be bound (found at start, or checked before workers)."""
    return ConfigError(
        "environment",
        "CONTINUUM_TCP_PORT",
        f"cannot listen on {settings.tcp_host}:{settings.tcp.port} ({error.strerror})",
        "free the port, or choose another with CONTINUUM_TCP_PORT / TCP_PORT",
    )


class TcpDoor:
    """The gateway's TCP listener, when ``settings.tcp.enabled``; a no-op otherwise."""

    def __init__(self, gateway: Gateway, *, reuse_port: bool = False):
        self.gateway = gateway
        self.reuse_port = reuse_port
        self.server: TcpServer | None = None
        self._closing: asyncio.Task[None] | None = None
        self._unwatch: Callable[[], None] | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """Where it listens (the real port when 0 was asked for), or None when disabled."""
        return self.server.address if self.server is not None else None

    async def __aenter__(self) -> TcpDoor:
        settings = self.gateway.settings
        if not settings.tcp.enabled:
            return self
        server = TcpServer(
            GatewayHandler(self.gateway.pipeline),
            settings.tcp_host,
            settings.tcp.port,
            tcp_limits(settings.tcp),
            reuse_port=self.reuse_port,
        )
        try:
            await server.start()
        except OSError as error:
            raise port_unavailable(settings, error) from error
        self.server = server
        self._unwatch = self.gateway.metrics.watch_tcp(server.connection_count)
        return self

    def drain(self) -> asyncio.Task[None] | None:
        """Start the graceful close (GOAWAY, then drain) now; idempotent."""
        if self.server is None:
            return None
        if self._closing is None:
            timeout = float(self.gateway.settings.tcp.drain_timeout)
            self._closing = asyncio.get_running_loop().create_task(self.server.close(timeout))
        return self._closing

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        closing = self.drain()
        if closing is not None:
            await closing
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

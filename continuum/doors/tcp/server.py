"""The asyncio TCP server of the Continuum protocol, independent of the pipeline.

    server = TcpServer(handler, "127.0.0.1", 8989, TcpLimits())
    await server.start()
    ...
    await server.close(drain_timeout=10)

It is started and stopped from an async context its owner holds (the gateway's
lifespan, a test, the CLI); it holds no global state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from continuum.doors.tcp.connection import ConnectionStats, ServerConnection
from continuum.doors.tcp.handler import TcpHandler
from continuum.doors.tcp.limits import TcpLimits

log = logging.getLogger("continuum.tcp")


class TcpServer:
    """Listens on ``host:port`` (port 0 picks a free one) and serves ``handler``."""

    def __init__(
        self,
        handler: TcpHandler,
        host: str = "127.0.0.1",
        port: int = 8989,
        limits: TcpLimits | None = None,
        *,
        reuse_port: bool = False,
    ):
        self.handler = handler
        self.host = host
        self.requested_port = port
        self.limits = limits or TcpLimits()
        # SO_REUSEPORT: several worker processes listen on one port, the kernel spreads
        # the connections between them (continuum serve --workers).
        self.reuse_port = reuse_port
        self.draining = False
        self._server: asyncio.Server | None = None
        self._connections: set[ServerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Start listening; returns once the socket is bound."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ServerConnection(self),
            self.host,
            self.requested_port,
            reuse_port=self.reuse_port or None,
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound address; the port is the real one when 0 was asked for."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the TCP server is not listening")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    def connection_count(self) -> int:
        """Connections open now (read by the metrics at scrape time)."""
        return len(self._connections)

    def stats(self) -> list[ConnectionStats]:
        """Live counters of every open connection."""
        return [connection.stats for connection in self._connections]

    async def close(self, drain_timeout: float = 10.0) -> None:
        """Drain and stop: GOAWAY to every connection, let open requests finish for up to
        ``drain_timeout`` seconds, end the rest with ``shutting_down``, then close."""
        self.draining = True
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_timeout):
                await self._idle.wait()
        for connection in list(self._connections):
            connection.shut_down_requests()
        # Cancelled requests close their generators, send their ERROR and let their
        # connection close; whatever is still open after that is reset.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(1.0, self.limits.slow_consumer_grace)):
                await self._idle.wait()
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.abort()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # -- called by connections --------------------------------------------------------

    def connection_opened(self, connection: ServerConnection) -> None:
        self._connections.add(connection)
        self._idle.clear()

    def connection_closed(self, connection: ServerConnection) -> None:
        self._connections.discard(connection)
        if not self._connections:
            self._idle.set()

    def track(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        """Keep a request task until it ends, so that ``close`` can wait for it."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

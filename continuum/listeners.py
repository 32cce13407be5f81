"""Every listener of one process around one gateway: uvicorn's HTTP server and the TCP door.

One process (``continuum serve``): the CLI (``commands/serve._serve``) enters the gateway and the
``TcpDoor`` and runs a ``GatewayServer``, whose shutdown starts the TCP door's drain
(GOAWAY) the moment HTTP starts its own, so both drain side by side before the gateway
flushes its ledger.

Several workers (``--workers N``): uvicorn's supervisor binds the HTTP socket and starts
each worker from ``app_from_env``; every worker also runs its own TCP listener on the same
port with ``SO_REUSEPORT``, so the kernel spreads TCP connections across the workers as
it does HTTP ones. A connection's requests all stay in the worker that accepted it.
The supervisor (``ForwardingSupervisor``) forwards SIGHUP to the workers, each of which
reloads its configuration in place (``config/reload.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from continuum.doors.tcp.door import TcpDoor, port_unavailable
from continuum.errors import ConfigError
from continuum.settings import Settings


class GatewayServer(uvicorn.Server):
    """uvicorn's server, telling the other doors to drain when it starts to shut down."""

    def __init__(self, config: uvicorn.Config, doors: tuple[TcpDoor, ...] = ()):
        super().__init__(config)
        self.doors = doors

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for door in self.doors:
            door.drain()  # runs beside HTTP's drain; awaited when the door's context exits
        await super().shutdown(sockets)


class ForwardingSupervisor(Multiprocess):
    """uvicorn's worker supervisor, forwarding SIGHUP to every worker.

    uvicorn's own answer to SIGHUP replaces each worker with a new process, which ends the
    streams the old one is serving once its graceful timeout passes; Continuum's workers
    reload their configuration in place instead, streams and all.
    """

    def handle_hup(self) -> None:
        logging.getLogger("uvicorn.error").info("Received SIGHUP, reloading the workers' config.")
        for process in self.processes:
            if process.pid is not None:
                # One that just died is replaced by keep_subprocess_alive, config and all.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGHUP)


def check_tcp_port(settings: Settings) -> None:
    """Fail fast, before workers start, when the TCP port is taken by another program.

    The workers bind it with ``SO_REUSEPORT``; a socket bound the same way and closed at
    once sees a conflict with anything but them.
    """
    if not settings.tcp.enabled:
        return
    if settings.tcp.port == 0:
        raise ConfigError(
            "environment",
            "CONTINUUM_TCP_PORT",
            "0 (any free port) cannot be shared by several workers",
            "give the TCP door a fixed port when --workers is more than 1",
        )
    for family, kind, proto, _, address in socket.getaddrinfo(
        settings.tcp_host, settings.tcp.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio binds
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise port_unavailable(settings, error) from error


def _drain_on_exit_signal(door: TcpDoor) -> None:
    """Start the TCP drain when the worker's exit signal arrives, as ``GatewayServer`` does.

    uvicorn builds the worker's server itself and offers no shutdown hook before its HTTP
    drain: its signal handlers are installed when the app starts, so we chain ours to them.
    """
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(number)
        if not callable(previous):
            continue

        def chained(
            sig: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], Any] = previous,
        ) -> None:
            previous(sig, frame)
            loop.call_soon_threadsafe(door.drain)

        signal.signal(number, chained)


def app_from_env() -> FastAPI:
    """The app factory of each worker process (``uvicorn --factory``): the HTTP app of a
    gateway built from the environment, with the TCP door running in its lifespan."""
    from continuum.app import build_gateway, create_app
    from continuum.observability.serving import start_logging

    # A SIGHUP the supervisor forwards before the gateway listens for it must not end the
    # worker (its default action); the lifespan below installs the reload.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    gateway = build_gateway(Settings.from_env())
    start_logging(gateway)  # each worker is a process of its own
    app = create_app(gateway=gateway)
    http_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with gateway:
            if gateway.reloader is not None:
                gateway.reloader.listen()
            if not gateway.settings.tcp.enabled:
                async with http_lifespan(app) as state:
                    yield state
                return
            async with TcpDoor(gateway, reuse_port=True) as tcp:
                _drain_on_exit_signal(tcp)
                async with http_lifespan(app) as state:
                    yield state

    app.router.lifespan_context = lifespan
    return app

"""A real TCP server on a real socket, with a scripted handler, for each test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import pytest
import uvloop

from continuum.client import TcpClient
from continuum.doors.tcp.limits import TcpLimits
from continuum.doors.tcp.server import TcpServer
from tests.doors.tcp.handlers import KEY, ScriptedHandler
from tests.doors.tcp.raw import Raw

StartServer = Callable[..., Awaitable[TcpServer]]


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a condition the server reaches on its own (polled; never a fixed sleep)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the server's counters have no event to wait on
            await asyncio.sleep(0.001)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test here runs on both loops: the gateway serves on uvloop, whose
    transports differ from asyncio's in details (types, buffer accounting)."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(autouse=True)
async def close_raw_connections() -> AsyncIterator[None]:
    yield
    await Raw.close_all()


@pytest.fixture
def handler() -> ScriptedHandler:
    return ScriptedHandler()


@pytest.fixture
async def start_server(handler: ScriptedHandler) -> AsyncIterator[StartServer]:
    servers: list[TcpServer] = []

    async def start(limits: TcpLimits | None = None, **kwargs: object) -> TcpServer:
        server = TcpServer(handler, "127.0.0.1", 0, limits or TcpLimits(**kwargs))  # type: ignore[arg-type]
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close(drain_timeout=1.0)


@pytest.fixture
async def server(start_server: StartServer) -> TcpServer:
    return await start_server()


@pytest.fixture
async def client(server: TcpServer) -> AsyncIterator[TcpClient]:
    client = await TcpClient.connect("127.0.0.1", server.port, KEY)
    yield client
    await client.close()

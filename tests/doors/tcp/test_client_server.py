"""The shipped client against the real server on a real socket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import pytest

from continuum.client import ConnectionClosed, GoingAway, ServerError, TcpClient
from continuum.core.events import Finish, TextDelta, ToolCallDelta, Usage
from continuum.doors.tcp.limits import TcpLimits
from continuum.doors.tcp.server import TcpServer
from tests.doors.tcp.conftest import StartServer, until
from tests.doors.tcp.handlers import BIG_TEXT, KEY, ScriptedHandler, body, direct_text


async def connect(server: TcpServer, **kwargs: object) -> TcpClient:
    return await TcpClient.connect("127.0.0.1", server.port, KEY, **kwargs)  # type: ignore[arg-type]


async def test_100_concurrent_streams_on_one_connection_are_exact(client: TcpClient) -> None:
    requests = [body(f"Question {i}: how do gateways work?", seed=i) for i in range(100)]
    streams = [client.stream(request) for request in requests]  # all open at once
    assert client.open_streams == 100
    answers = await asyncio.gather(*(stream.text() for stream in streams))
    expected = [await direct_text(request) for request in requests]
    assert answers == expected
    assert len(set(answers)) == 100  # different seeds, different answers


async def test_events_end_with_finish_and_usage(client: TcpClient) -> None:
    request = body("Count the tokens.", max_tokens=5)
    events = [event async for event in client.stream(request)]
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 5
    assert events[-2:] == [Finish("length", 0), Usage(events[-1].prompt_tokens, 5)]  # type: ignore[union-attr]


async def test_tool_call_deltas(client: TcpClient) -> None:
    events = [event async for event in client.stream(body("x") | {"model": "tools"})]
    assert events == [
        ToolCallDelta(0, "", "call_1", "lookup"),
        ToolCallDelta(0, '{"city": '),
        ToolCallDelta(0, '"Paris"}'),
        Finish("tool_calls"),
        Usage(5, 3),
    ]


async def test_deltas_larger_than_frames_and_windows_are_split_between_characters(
    start_server: StartServer,
) -> None:
    server = await start_server(initial_request_window=16_384, initial_connection_window=16_384)
    client = await connect(server)
    events = [event async for event in client.stream(body("x") | {"model": "big"})]
    texts = [e for e in events if isinstance(e, TextDelta)]
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(texts) >= 7 and len(calls) >= 7  # 100 kB through 16 kB windows
    assert "".join(e.text for e in texts) == BIG_TEXT
    assert "".join(e.arguments for e in calls) == BIG_TEXT
    assert (calls[0].id, calls[0].name) == ("call_big", "echo")
    assert all(c.id is None and c.name is None for c in calls[1:])
    assert events[-1] == Finish("tool_calls")
    await client.close()


async def test_several_choices(client: TcpClient) -> None:
    events = [event async for event in client.stream(body("Two answers", n=2))]
    choices = {e.choice for e in events if isinstance(e, TextDelta)}
    assert choices == {0, 1}
    assert [e for e in events if isinstance(e, Finish)] == [Finish("stop", 0), Finish("stop", 1)]


@pytest.mark.parametrize(
    ("model", "status", "code", "partial"),
    [
        ("rate-limited", 429, "rate_limit_exceeded", ""),
        ("fail-after", 502, "upstream_error", "partial answer"),
        ("crash", 500, "internal_error", ""),
        ("crash-after", 500, "internal_error", "ok so far"),
    ],
)
async def test_errors_end_one_request_and_the_connection_serves_on(
    client: TcpClient, model: str, status: int, code: str, partial: str
) -> None:
    received = []
    with pytest.raises(ServerError) as info:
        async for event in client.stream(body("x") | {"model": model}):
            assert isinstance(event, TextDelta)
            received.append(event.text)
    assert (info.value.status, info.value.code) == (status, code)
    assert "".join(received) == partial
    if model == "rate-limited":
        assert info.value.retry_after == 7.5
    request = body("Still there?")
    assert await client.stream(request).text() == await direct_text(request)


async def test_invalid_json_body_is_a_400_for_that_request(server: TcpServer) -> None:
    from tests.doors.tcp.handlers import LocalHandler

    server.handler = LocalHandler()
    async with await connect(server) as client:
        with pytest.raises(ServerError) as info:
            await client.stream(b"{not json").text()
        assert (info.value.status, info.value.code) == (400, "invalid_json")
        assert await client.ping() > 0


async def test_wrong_key_is_refused_at_connect(server: TcpServer) -> None:
    with pytest.raises(ServerError) as info:
        await TcpClient.connect("127.0.0.1", server.port, "wrong")
    assert (info.value.status, info.value.code) == (401, "invalid_api_key")


async def test_cancel_closes_the_generator_within_100_ms(
    client: TcpClient, handler: ScriptedHandler, server: TcpServer
) -> None:
    stream = client.stream(body("x") | {"model": "stall"})
    assert await anext(stream) == TextDelta("first ")
    record = handler.records[-1]
    cancelled_at = time.monotonic()
    await stream.aclose()
    async with asyncio.timeout(1):
        await record.closed.wait()
    assert record.closed_at is not None
    assert record.closed_at - cancelled_at < 0.1
    # The slot is free again and the connection goes on.
    await until(lambda: server.stats()[0].active_requests == 0)
    assert await client.stream(body("after")).text() == await direct_text(body("after"))


async def test_break_out_of_async_with_cancels(client: TcpClient, handler: ScriptedHandler) -> None:
    async with client.stream(body("x") | {"model": "stall"}) as stream:
        async for _ in stream:
            break
    async with asyncio.timeout(1):
        await handler.records[-1].closed.wait()


async def test_client_disconnect_closes_the_generator(
    server: TcpServer, handler: ScriptedHandler
) -> None:
    client = await connect(server)
    stream = client.stream(body("x") | {"model": "stall"})
    await anext(stream)
    gone = time.monotonic()
    await client.close()
    async with asyncio.timeout(1):
        await handler.records[-1].closed.wait()
    assert handler.records[-1].closed_at is not None
    assert handler.records[-1].closed_at - gone < 0.1
    with pytest.raises(ConnectionClosed):
        await anext(stream)
    await until(lambda: not server.stats())


async def test_ping(client: TcpClient) -> None:
    rtts = [await client.ping() for _ in range(3)]
    assert all(0 < rtt < 1 for rtt in rtts)


async def test_goaway_lets_in_flight_finish_and_refuses_new(
    start_server: StartServer, handler: ScriptedHandler
) -> None:
    server = await start_server()
    client = await connect(server)
    streams = [client.stream(body("x") | {"model": "stall"}) for _ in range(3)]
    for stream in streams:
        assert await anext(stream) == TextDelta("first ")
    closing = asyncio.create_task(server.close(drain_timeout=10))
    await until(lambda: client.draining)
    with pytest.raises(GoingAway):
        client.stream(body("too late"))
    assert not closing.done()
    handler.release.set()
    rests = await asyncio.gather(*(stream.text() for stream in streams))
    assert rests == ["second"] * 3
    await asyncio.wait_for(closing, 5)
    await asyncio.wait_for(client.wait_closed(), 5)
    assert all(record.closed.is_set() for record in handler.records)


async def test_drain_timeout_ends_the_rest_with_shutting_down(
    start_server: StartServer, handler: ScriptedHandler
) -> None:
    server = await start_server()
    client = await connect(server)
    stream = client.stream(body("x") | {"model": "stall"})
    await anext(stream)
    await server.close(drain_timeout=0.05)
    with pytest.raises(ServerError) as info:
        await anext(stream)
    assert (info.value.status, info.value.code) == (503, "shutting_down")
    assert handler.records[-1].closed.is_set()


async def test_slow_reader_is_held_to_its_window(
    start_server: StartServer, handler: ScriptedHandler
) -> None:
    window = 65_536
    server = await start_server(initial_request_window=window)
    client = await connect(server)
    slow = client.stream(body("x") | {"model": "endless"})
    assert await anext(slow) == TextDelta("x" * handler.piece)
    record = handler.records[-1]
    stats = server.stats()[0]
    frame = handler.piece + 2
    # The server sends up to the window, then stops pulling from the generator.
    await until(lambda: stats.delta_bytes_sent > window - frame)
    pulled = record.pulled
    # Round trips make sure every frame the server was going to act on has been handled.
    for _ in range(5):
        await client.ping()
    assert stats.delta_bytes_sent <= window
    assert record.pulled == pulled <= window // frame + 2
    assert stats.peak_buffered_bytes <= window + 1024
    # A stalled request does not stall the connection.
    other = body("Meanwhile, another question.")
    assert await client.stream(other).text() == await direct_text(other)
    # Reading on returns credit and the stream moves again (a piece may be split where
    # the window ended, so count characters rather than events).
    read = 0
    while read < 300 * handler.piece:
        event = await anext(slow)
        assert isinstance(event, TextDelta) and set(event.text) == {"x"}
        read += len(event.text)
    assert stats.delta_bytes_sent > 300 * frame
    assert stats.peak_buffered_bytes <= server.limits.max_buffered_bytes
    await slow.aclose()
    async with asyncio.timeout(1):
        await record.closed.wait()
    await client.close()


async def test_over_limit_requests_are_refused_one_by_one(
    start_server: StartServer, handler: ScriptedHandler
) -> None:
    server = await start_server(max_concurrent_requests=3)
    client = await connect(server)
    held = [client.stream(body("x") | {"model": "stall"}) for _ in range(3)]
    for stream in held:
        await anext(stream)
    for _ in range(2):
        with pytest.raises(ServerError) as info:
            await client.stream(body("one too many")).text()
        assert (info.value.status, info.value.code) == (429, "too_many_concurrent_requests")
    handler.release.set()
    assert await asyncio.gather(*(s.text() for s in held)) == ["second"] * 3
    assert await client.stream(body("now")).text() == await direct_text(body("now"))
    await client.close()


async def test_large_request_in_many_frames_and_negotiated_frame_size(
    start_server: StartServer,
) -> None:
    server = await start_server(max_frame_size=65_536)
    small = await TcpClient.connect("127.0.0.1", server.port, KEY, max_frame_size=16_384)
    big = await TcpClient.connect("127.0.0.1", server.port, KEY, max_frame_size=1 << 20)
    assert small.welcome is not None and small.welcome.max_frame_size == 16_384
    assert big.welcome is not None and big.welcome.max_frame_size == 65_536
    request = body("a long prompt " * 20_000)  # 280 kB: 18 frames of 16 KiB
    assert await small.stream(request).text() == await direct_text(request)
    assert await big.stream(request).text() == await direct_text(request)
    await small.close()
    await big.close()


async def test_request_over_the_size_limit_is_refused_alone(start_server: StartServer) -> None:
    server = await start_server(max_request_bytes=20_000)
    client = await connect(server)
    with pytest.raises(ServerError) as info:
        await client.stream(body("y" * 30_000)).text()
    assert (info.value.status, info.value.code) == (413, "payload_too_large")
    assert await client.stream(body("small")).text() == await direct_text(body("small"))
    await client.close()


async def test_keepalive_pings_are_answered_by_the_client(start_server: StartServer) -> None:
    server = await start_server(ping_interval=0.02)
    client = await connect(server)
    await until(lambda: server.stats()[0].pings_sent >= 6)
    assert await client.ping() > 0  # still open: every ping was answered
    await client.close()


async def test_many_clients_share_a_server(server: TcpServer) -> None:
    clients = await asyncio.gather(*(connect(server) for _ in range(10)))
    requests = [body(f"client {i}") for i in range(10)]
    jobs: list[Awaitable[str]] = [
        c.stream(r).text() for c, r in zip(clients, requests, strict=True)
    ]
    assert await asyncio.gather(*jobs) == [await direct_text(r) for r in requests]
    assert len(server.stats()) == 10
    for client in clients:
        await client.close()


async def test_connect_by_url(server: TcpServer) -> None:
    async with await TcpClient.connect_url(f"tcp://127.0.0.1:{server.port}", KEY) as client:
        assert await client.ping() > 0
    with pytest.raises(ValueError):
        await TcpClient.connect_url("http://127.0.0.1:8080", KEY)


async def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        TcpLimits(max_frame_size=2 << 20)
    with pytest.raises(ValueError):
        TcpLimits(initial_request_window=0)

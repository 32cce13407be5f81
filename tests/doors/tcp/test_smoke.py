from __future__ import annotations

from continuum.client import TcpClient
from continuum.core.events import Finish, TextDelta, Usage
from tests.doors.tcp.handlers import body, direct_text


async def test_one_stream(client: TcpClient) -> None:
    request = body("Tell me about gateways.")
    events = [event async for event in client.stream(request)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == await direct_text(request)
    assert isinstance(events[-2], Finish) and isinstance(events[-1], Usage)

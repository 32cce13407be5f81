"""Every HTTP provider sends the request's id upstream as ``x-request-id``: the id the
client got in its own ``x-request-id``, so the gateway's and the upstream's logs join."""

from __future__ import annotations

import pytest

from tests.providers.conftest import Stack


@pytest.mark.parametrize("stream", [False, True])
def test_the_upstream_sees_the_clients_request_id(stack: Stack, stream: bool) -> None:
    stack.fake.recorder.clear()
    raw = stack.client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "Hi"}], stream=stream
    )
    request_id = raw.headers["x-request-id"]
    answer = raw.parse()
    if stream:
        assert list(answer)  # type: ignore[call-overload]
    seen = stack.fake.recorder.wait_requests(1)
    assert request_id.startswith("chatcmpl-")
    assert [r.headers.get("x-request-id") for r in seen] == [request_id]

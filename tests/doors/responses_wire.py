"""Reading a Responses stream off the wire and checking it against the official schemas."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from continuum.doors.http.responses import EVENTS
from tests.openapi_schemas import assert_matches, validator

TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def parse_events(text: str) -> list[dict[str, Any]]:
    """Every SSE event of ``text``; each must name its type on an ``event:`` line."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: "), block
        data = "\n".join(line.removeprefix("data: ") for line in lines[1:])
        event = orjson.loads(data)
        assert lines[0].removeprefix("event: ") == event["type"], block
        events.append(event)
    return events


def check_stream(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Validate a whole stream; returns the Response of its terminal event.

    Every event matches ``ResponseStreamEvent``, sequence numbers run 0, 1, 2, … and the
    stream opens with ``response.created`` and ``response.in_progress`` and ends with
    exactly one terminal event (after an ``error`` event when it failed).
    """
    for event in events:
        assert_matches("ResponseStreamEvent", event)
        # and one of the event types /openapi.json documents for the route
        assert any(validator(name).is_valid(event) for name in EVENTS), event["type"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    kinds = [e["type"] for e in events]
    assert kinds[-1] in TERMINAL and sum(k in TERMINAL for k in kinds) == 1
    if kinds[-1] == "response.failed":
        assert kinds[-2] == "error"
    response: dict[str, Any] = events[-1]["response"]
    assert response["id"] == events[0]["response"]["id"]
    assert_matches("Response", response)
    return response


def streamed_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


def post_stream(url: str, key: str, body: dict[str, Any]) -> tuple[httpx.Response, list[dict]]:
    response = httpx.post(
        f"{url}/v1/responses",
        json={**body, "stream": True},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return response, parse_events(response.text)

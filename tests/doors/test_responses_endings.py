"""How ``/v1/responses`` requests end: failures mid-stream, bugs, clients that leave, limits.

A gateway on a real socket with a scripted provider (``build_gateway``'s ``providers``).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from continuum.app import build_gateway, create_app
from continuum.errors import UpstreamError
from continuum.settings import Settings
from continuum.testing.scripted import ScriptedProvider, Step, break_after, ok
from continuum.testing.server import serve_in_thread
from tests.doors.responses_wire import check_stream, parse_events, streamed_text
from tests.openapi_schemas import assert_matches

KEY = "sk-responses-endings-00000001"
COUNTED_KEY = "sk-responses-endings-counted1"
WORDS = " ".join(f"w{i}" for i in range(100))

USERS = f"""
users:
  - token: "{KEY}"
    name: "tester"
    permissions: "*"
  - token: "{COUNTED_KEY}"
    name: "counted"
    permissions: "*"
    rate_limit: "2/minute"
"""


@dataclass
class Gateway:
    url: str
    provider: ScriptedProvider
    data_dir: Path

    def post(self, body: dict[str, Any], key: str = KEY, **options: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"}
        return httpx.post(f"{self.url}/v1/responses", json=body, headers=headers, **options)

    def get(self, response_id: str) -> httpx.Response:
        headers = {"authorization": f"Bearer {KEY}"}
        return httpx.get(f"{self.url}/v1/responses/{response_id}", headers=headers)

    def rows(self) -> list[tuple[str, int, str | None, str]]:
        """(request id, status, error code, door) of every ledger row."""
        httpx.get(f"{self.url}/usage", headers={"authorization": f"Bearer {KEY}"})  # flushes
        with sqlite3.connect(self.data_dir / "continuum.db") as db:
            query = "SELECT request_id, status, error_code, door FROM continuum_usage"
            return list(db.execute(query))


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    provider = ScriptedProvider(
        {
            "bug": [break_after(2, RuntimeError("a bug in a provider"))],
            "cut": [break_after(2, UpstreamError("the upstream broke"))],
            "silent": [Step(text="never", first_delay=30)],
            "words": [ok(WORDS, token_delay=0.003)],
        }
    )
    config = tmp_path_factory.mktemp("responses-endings")
    (config / "users.yml").write_text(USERS)
    (config / "models.yml").write_text(
        "models:\n"
        + "".join(
            f"  - {{id: {name}, provider: scripted, upstream_model: {name}}}\n"
            for name in ("bug", "cut", "silent", "words")
        )
    )
    settings = Settings.from_env({}, config_dir=config, data_dir=config)
    gateway = build_gateway(settings, providers={"scripted": provider})
    with serve_in_thread(create_app(gateway=gateway)) as url:
        yield Gateway(url, provider, config)


def test_an_upstream_failure_mid_stream_is_error_then_failed(gw: Gateway) -> None:
    response = gw.post({"model": "cut", "input": "hi", "stream": True})
    events = parse_events(response.text)
    final = check_stream(events)
    error = events[-2]
    assert (error["code"], error["message"]) == ("upstream_error", "the upstream broke")
    assert final["status"] == "failed"
    assert final["error"] == {"code": "server_error", "message": "the upstream broke"}
    assert streamed_text(events) == "a b" == final["output"][0]["content"][0]["text"]
    stored = gw.get(final["id"])
    assert_matches("Response", stored.json())
    assert stored.json() == final
    assert (final["id"], 502, "upstream_error", "http") in gw.rows()


def test_without_a_stream_the_failure_is_a_status_and_nothing_is_stored(gw: Gateway) -> None:
    response = gw.post({"model": "cut", "input": "hi"})
    assert response.status_code == 502
    assert_matches("ErrorResponse", response.json())
    assert gw.get(response.headers["x-request-id"]).status_code == 404


def test_a_bug_mid_stream_fails_the_response_and_is_logged(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = gw.post({"model": "bug", "input": "hi", "stream": True})
    events = parse_events(response.text)
    final = check_stream(events)
    assert final["status"] == "failed" and "bug" not in final["error"]["message"]
    assert events[-2]["code"] == "internal_error"
    request_id = response.headers["x-request-id"]
    assert request_id == final["id"]
    assert any(request_id in record.getMessage() for record in caplog.records)


def test_a_client_that_leaves_cancels_the_upstream_and_nothing_is_stored(gw: Gateway) -> None:
    before = len(gw.provider.closed)
    with httpx.stream(
        "POST",
        f"{gw.url}/v1/responses",
        json={"model": "words", "input": "hi", "stream": True},
        headers={"authorization": f"Bearer {KEY}"},
    ) as response:
        response_id = response.headers["x-request-id"]
        for line in response.iter_lines():
            if line.startswith("event: response.output_text.delta"):
                break
    left = time.monotonic()
    while len(gw.provider.closed) == before:
        assert time.monotonic() - left < 5, "the upstream was never cancelled"
        time.sleep(0.005)
    assert gw.get(response_id).status_code == 404
    deadline = time.monotonic() + 5
    while (response_id, 499, "client_closed", "http") not in gw.rows():
        assert time.monotonic() < deadline, "the request was not recorded as 499"
        time.sleep(0.01)


def test_limits_refuse_before_the_stream_starts(gw: Gateway) -> None:
    bodies = [{"model": "words", "input": "hi", "stream": True, "max_output_tokens": 16}] * 3
    answers = [gw.post(body, key=COUNTED_KEY) for body in bodies]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/json")
    assert_matches("ErrorResponse", refused.json())
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"


def test_a_response_that_cannot_be_stored_fails(gw: Gateway) -> None:
    """The database refuses the write: the stream ends failed, a plain answer is a 503."""
    with sqlite3.connect(gw.data_dir / "continuum.db") as db:
        db.execute("ALTER TABLE continuum_responses RENAME TO continuum_responses_away")
    try:
        response = gw.post(
            {"model": "words", "input": "hi", "stream": True, "max_output_tokens": 16}
        )
        events = parse_events(response.text)
        final = check_stream(events)
        assert events[-2]["code"] == "state_unavailable"
        assert final["status"] == "failed" and final["error"]["code"] == "server_error"
        plain = gw.post({"model": "words", "input": "hi", "max_output_tokens": 16})
        assert plain.status_code == 503
        assert plain.json()["error"]["code"] == "state_unavailable"
        kept = gw.post({"model": "words", "input": "hi", "store": False, "max_output_tokens": 16})
        assert kept.status_code == 200  # nothing to store, nothing to fail
    finally:
        with sqlite3.connect(gw.data_dir / "continuum.db") as db:
            db.execute("ALTER TABLE continuum_responses_away RENAME TO continuum_responses")
    assert gw.post({"model": "words", "input": "hi", "max_output_tokens": 16}).status_code == 200

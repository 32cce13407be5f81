"""How Messages requests end: limits, failures before and after the first event, bugs,
clients that leave, and what the ledger records (door "anthropic")."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from continuum.app import build_gateway, create_app
from continuum.errors import RateLimited, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from continuum.settings import Settings
from continuum.testing.scripted import ScriptedProvider, Step, break_after, fail, ok
from continuum.testing.server import serve_in_thread
from tests.doors.anthropic.stream_checks import check_events, parse_sse

KEY = "sk-anthropic-endings-000001"
COUNTED_KEY = "sk-anthropic-endings-counted"
USERS = f"""
users:
  - token: "{KEY}"
    name: "tester"
    permissions: "*"
  - token: "{COUNTED_KEY}"
    name: "counted"
    permissions: "*"
    rate_limit: ["2/minute", "100000 tokens/minute"]
"""
SCRIPTS = {
    "words": [ok("one two three four five six")],
    "cut": [break_after(2, UpstreamError("the upstream broke"))],
    "bug": [break_after(2, RuntimeError("a secret bug detail"))],
    "down": [fail(UpstreamUnavailable("the upstream is down"))],
    "slow-start": [fail(UpstreamTimeout("The model 'slow-start' sent nothing within 1 s"))],
    "limited": [fail(RateLimited("upstream says wait", retry_after=7))],
    "silent": [Step(text="never", first_delay=30)],
}


@dataclass
class Gateway:
    url: str
    provider: ScriptedProvider
    data_dir: Path

    def post(self, body: dict[str, Any], key: str = KEY, **options: Any) -> httpx.Response:
        headers = {"x-api-key": key}
        return httpx.post(f"{self.url}/v1/messages", json=body, headers=headers, **options)

    def rows(self) -> list[tuple[str, int, int, str | None, str, str]]:
        """(request id, status, completion tokens, error code, model, door) of every row."""
        httpx.get(f"{self.url}/usage", headers={"authorization": f"Bearer {KEY}"})  # flushes
        with sqlite3.connect(self.data_dir / "continuum.db") as db:
            query = (
                "SELECT request_id, status, completion_tokens, error_code, model, door"
                " FROM continuum_usage"
            )
            return list(db.execute(query))


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    provider = ScriptedProvider(SCRIPTS)
    config = tmp_path_factory.mktemp("anthropic-endings")
    (config / "users.yml").write_text(USERS)
    (config / "models.yml").write_text(
        "models:\n"
        + "".join(
            f"  - {{id: {name}, provider: scripted, upstream_model: {name}, retries: 0}}\n"
            for name in SCRIPTS
        )
    )
    settings = Settings.from_env({}, config_dir=config, data_dir=config)
    gateway = build_gateway(settings, providers={"scripted": provider})
    with serve_in_thread(create_app(gateway=gateway)) as url:
        yield Gateway(url, provider, config)


def body(model: str, stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 50,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    } | extra


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("model", "status", "kind"),
    [
        ("down", 529, "overloaded_error"),
        ("slow-start", 504, "timeout_error"),
        ("limited", 429, "rate_limit_error"),
    ],
)
def test_failures_before_the_first_event_are_statuses(
    gw: Gateway, model: str, status: int, kind: str, stream: bool
) -> None:
    response = gw.post(body(model, stream))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == kind
    assert error["request_id"] == response.headers["request-id"]
    if kind == "rate_limit_error":
        assert response.headers["retry-after"] == "7"


def test_a_failure_after_the_first_event_is_an_error_event(gw: Gateway) -> None:
    response = gw.post(body("cut", True))
    assert response.status_code == 200
    events = parse_sse(response.text)
    check_events(events, complete=False)
    texts = [p["delta"]["text"] for name, p in events if name == "content_block_delta"]
    assert texts == ["a", " b"]  # what was relayed before the break
    assert events[-1][1]["error"] == {"type": "api_error", "message": "the upstream broke"}
    # The SDK raises instead of returning a cut answer as if it were whole.
    request = {k: v for k, v in body("cut").items() if k != "stream"}
    with (
        anthropic.Anthropic(base_url=gw.url, api_key=KEY, max_retries=0) as client,
        pytest.raises(anthropic.APIStatusError) as raised,
        client.messages.stream(**request) as stream,
    ):
        stream.get_final_message()
    assert raised.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    whole = gw.post(body("cut"))
    assert whole.status_code == 500 and whole.json()["error"]["type"] == "api_error"


def test_a_bug_mid_stream_is_an_api_error_that_hides_the_detail(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = gw.post(body("bug", True))
    events = parse_sse(response.text)
    check_events(events, complete=False)
    error = events[-1][1]["error"]
    assert error["type"] == "api_error" and "secret" not in error["message"]
    request_id = response.headers["request-id"]
    assert any(request_id in record.getMessage() for record in caplog.records)
    assert (request_id, 500) in {(r[0], r[1]) for r in gw.rows()}


def test_the_ledger_records_the_anthropic_door(gw: Gateway) -> None:
    done = gw.post(body("words"))
    streamed = gw.post(body("words", True))
    ids = {done.json()["id"]: 6, streamed.headers["request-id"]: 6}
    rows = {r[0]: r for r in gw.rows()}
    for request_id, tokens in ids.items():
        assert request_id.startswith("msg_")
        _, status, completion, error, model, door = rows[request_id]
        assert (status, completion, error, model, door) == (200, tokens, None, "words", "anthropic")


def test_limits_refuse_with_retry_after_and_count_tokens_is_not_limited(gw: Gateway) -> None:
    responses = [gw.post(body("words", max_tokens=1), key=COUNTED_KEY) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    refused = responses[-1]
    error = refused.json()
    assert error["type"] == "error" and error["error"]["type"] == "rate_limit_error"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    with (
        anthropic.Anthropic(base_url=gw.url, api_key=COUNTED_KEY, max_retries=0) as client,
        pytest.raises(anthropic.RateLimitError),
    ):
        client.messages.create(**body("words"))
    # Counting generates nothing: it takes no request from the limit and is never refused.
    for _ in range(3):
        counted = httpx.post(
            f"{gw.url}/v1/messages/count_tokens",
            json={"model": "words", "messages": [{"role": "user", "content": "hi"}]},
            headers={"x-api-key": COUNTED_KEY},
        )
        assert counted.status_code == 200 and counted.json()["input_tokens"] > 0


@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_leaves_cancels_the_upstream_and_is_recorded_as_499(
    gw: Gateway, stream: bool
) -> None:
    before = len(gw.provider.closed)
    with pytest.raises(httpx.ReadTimeout):
        gw.post(body("silent", stream), timeout=0.3)
    left = time.monotonic()
    while len(gw.provider.closed) == before:
        assert time.monotonic() - left < 5, "the upstream was never cancelled"
        time.sleep(0.005)
    assert gw.provider.closed[-1] - left < 1.0  # at once, not after the upstream's 30 s
    rows = gw.rows()
    assert ("silent", 499, "anthropic") in {(r[4], r[1], r[5]) for r in rows}

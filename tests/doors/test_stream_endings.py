"""How requests end at the HTTP door: errors mid-stream, bugs, clients that leave, limits.

A gateway on a real socket with a scripted provider (through ``build_gateway``'s
``providers``) and the fake OpenAI upstream, read with httpx and the official SDK.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import orjson
import pytest

from continuum.app import build_gateway, create_app
from continuum.errors import UpstreamError
from continuum.settings import Settings
from continuum.testing.fake_upstream import FakeUpstream, fake_openai
from continuum.testing.scripted import ScriptedProvider, Step, break_after, ok
from continuum.testing.server import serve_in_thread

KEY = "sk-stream-endings-0000000001"
TIGHT_KEY = "sk-stream-endings-tight-0001"
COUNTED_KEY = "sk-stream-endings-counted-01"
WORDS = " ".join(f"w{i}" for i in range(100))

USERS = f"""
users:
  - token: "{KEY}"
    name: "tester"
    permissions: "*"
  - token: "{TIGHT_KEY}"
    name: "tight"
    permissions: "*"
    rate_limit: "300 tokens/minute"
  - token: "{COUNTED_KEY}"
    name: "counted"
    permissions: "*"
    rate_limit: ["3/minute", "10000 tokens/minute"]
"""


@dataclass
class Gateway:
    url: str
    provider: ScriptedProvider
    fake: FakeUpstream
    data_dir: Path

    def post(self, body: dict[str, object], key: str = KEY, **options: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"}
        return httpx.post(f"{self.url}/v1/chat/completions", json=body, headers=headers, **options)  # type: ignore[arg-type]

    def rows(self) -> list[tuple[str, int, int, str | None, str]]:
        """(request id, status, completion tokens, error code, model) of every ledger row."""
        httpx.get(f"{self.url}/usage", headers={"authorization": f"Bearer {KEY}"})  # flushes
        with sqlite3.connect(self.data_dir / "continuum.db") as db:
            query = (
                "SELECT request_id, status, completion_tokens, error_code, model"
                " FROM continuum_usage"
            )
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
    fake = fake_openai(api_key="sk-up")
    with fake.run_in_thread() as upstream:
        config = tmp_path_factory.mktemp("endings")
        (config / "users.yml").write_text(USERS)
        scripted = "".join(
            f"  - {{id: {name}, provider: scripted, upstream_model: {name}}}\n"
            for name in ("bug", "cut", "silent", "words")
        )
        (config / "models.yml").write_text(
            "models:\n"
            + scripted
            + f'  - {{id: limited, provider: openai, upstream_model: "m::status=429", '
            f'base_url: "{upstream}/v1", api_key: sk-up, retries: 1}}\n'
        )
        settings = Settings.from_env({}, config_dir=config, data_dir=config)
        gateway = build_gateway(settings, providers={"scripted": provider})
        with serve_in_thread(create_app(gateway=gateway)) as url:
            yield Gateway(url, provider, fake, config)


def sse_events(response: httpx.Response) -> list[str]:
    return [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]


def chat(model: str, stream: bool, **extra: object) -> dict[str, object]:
    return {
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    } | extra


def test_a_failed_stream_ends_with_its_error_and_no_done(gw: Gateway) -> None:
    response = gw.post(chat("cut", True))
    events = sse_events(response)
    assert "[DONE]" not in events
    assert orjson.loads(events[-1])["error"]["code"] == "upstream_error"
    good = sse_events(gw.post(chat("words", True)))
    assert good[-1] == "[DONE]"  # a good stream still ends with it


def test_a_bug_mid_stream_still_ends_with_an_error_frame_logged_with_the_request_id(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = gw.post(chat("bug", True))
    events = sse_events(response)
    first = orjson.loads(events[0])
    assert first["choices"][0]["delta"]["content"] == "a"
    error = orjson.loads(events[-1])["error"]
    assert error["type"] == "server_error" and "bug" not in error["message"]
    assert "[DONE]" not in events
    request_id = response.headers["x-request-id"]
    assert any(request_id in record.getMessage() for record in caplog.records)
    assert (request_id, 500) in {(r[0], r[1]) for r in gw.rows()}


def test_the_sdk_sees_a_mid_stream_bug_as_an_error(gw: Gateway) -> None:
    client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(
            model="bug", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            pass
    client.close()


@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_leaves_before_the_first_token_cancels_the_upstream(
    gw: Gateway, stream: bool
) -> None:
    before = len(gw.provider.closed)
    with pytest.raises(httpx.ReadTimeout):
        gw.post(chat("silent", stream), timeout=0.3)
    left = time.monotonic()
    while len(gw.provider.closed) == before:
        assert time.monotonic() - left < 5, "the upstream was never cancelled"
        time.sleep(0.005)
    # Cancelled at once, not after the 30 s the upstream would have taken.
    assert gw.provider.closed[-1] - left < 1.0
    assert (499, "client_closed") in {(r[1], r[3]) for r in gw.rows()}


def test_a_cut_stream_is_charged_for_what_was_relayed(gw: Gateway) -> None:
    """A user limited to 300 tokens/minute cannot stream forever by leaving before usage."""
    admitted = 0
    for _ in range(10):
        with httpx.stream(
            "POST",
            f"{gw.url}/v1/chat/completions",
            json=chat("words", True, max_tokens=100),
            headers={"authorization": f"Bearer {TIGHT_KEY}"},
        ) as response:
            if response.status_code == 429:
                continue
            admitted += 1
            chunks = 0
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    chunks += 1
                if chunks == 90:
                    break  # leave before the last 10 tokens and the usage chunk
    # Each cut stream settles at its relayed tokens (about 90 + the prompt), not at 0:
    # three fit in 300 tokens, and reading to the end would have allowed only two.
    assert admitted == 3
    cut = [r for r in gw.rows() if r[1] == 499 and r[4] == "words"]
    assert len(cut) >= 3 and all(r[2] >= 90 for r in cut)


def test_a_refusal_carries_the_rate_limit_headers(gw: Gateway) -> None:
    responses = [gw.post(chat("words", False, max_tokens=1), key=COUNTED_KEY) for _ in range(4)]
    refused = [r for r in responses if r.status_code == 429]
    assert refused, "the 3/minute limit never refused"
    headers = refused[0].headers
    assert int(headers["retry-after"]) >= 1
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-limit-requests"] == "3"
    assert "x-ratelimit-remaining-tokens" in headers and "x-request-id" in headers


def test_an_upstream_retry_after_is_honoured_and_relayed(gw: Gateway) -> None:
    gw.fake.recorder.clear()
    response = gw.post(chat("limited", False))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"  # the upstream's, relayed
    first, second = gw.fake.recorder.requests[-2:]
    assert second.at - first.at >= 1.0  # the retry waited as long as the upstream asked
    assert "127.0.0.1" not in response.text  # the upstream's address stays in the log

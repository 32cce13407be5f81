"""Rate limits through the OpenAI door: 429 with Retry-After, x-ratelimit-* headers, stats."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from continuum.app import create_app
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread
from tests.openapi_schemas import assert_matches

LIMITED = "sk-limited-three-per-minute-0001"
TOKENS = "sk-limited-tokens-per-hour-00001"
ADMIN = "sk-admin-can-see-all-stats-00001"
CHAT = {"model": "local-echo", "messages": [{"role": "user", "content": "one two three four five"}]}


@pytest.fixture(scope="module", params=["memory", "redis"])
def limited_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    import uuid

    suffix = uuid.uuid4().hex[:8]  # Redis is shared with other runs: fresh identities
    config = tmp_path_factory.mktemp("limits")
    (config / "users.yml").write_text(f"""
users:
  - {{token: "{LIMITED}", name: "three-{suffix}", permissions: "*", rate_limit: "3/minute"}}
  - {{token: "{TOKENS}", name: "tokens-{suffix}", permissions: "*", rate_limit: ["100/minute", "40 tokens/hour"]}}
  - {{token: "{ADMIN}", name: "admin-{suffix}", permissions: "*", admin: true}}
""")
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings = Settings.from_env(
        {}, config_dir=config, data_dir=Path(config) / "data", redis_url=redis_url
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


def test_requests_over_the_limit_get_429_with_headers(limited_gateway: str) -> None:
    client = openai.OpenAI(base_url=f"{limited_gateway}/v1", api_key=LIMITED, max_retries=0)
    remaining = []
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(**CHAT)  # type: ignore[call-overload]
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        remaining.append(raw.headers["x-ratelimit-remaining-requests"])
        assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    assert remaining == ["2", "1", "0"]
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    response = caught.value.response
    assert 1 <= int(response.headers["retry-after"]) <= 21
    assert_matches("ErrorResponse", response.json())
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    stream = httpx.post(
        f"{limited_gateway}/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers={"Authorization": f"Bearer {LIMITED}"},
    )
    assert stream.status_code == 429  # refused before the stream starts, as a status


def test_token_limits_count_real_usage(limited_gateway: str) -> None:
    client = openai.OpenAI(base_url=f"{limited_gateway}/v1", api_key=TOKENS, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(**CHAT, max_tokens=5)  # type: ignore[call-overload]
    usage = raw.parse().usage
    assert usage is not None
    assert raw.headers["x-ratelimit-limit-tokens"] == "40"
    # The estimate was reserved; the real usage (prompt + completion) is what stays charged.
    stats = httpx.get(
        f"{limited_gateway}/rate-limit/stats", headers={"Authorization": f"Bearer {TOKENS}"}
    ).json()
    (user,) = stats["users"].values()
    tokens = next(limit for limit in user if limit["kind"] == "tokens")
    assert tokens["used"] == usage.total_tokens
    with pytest.raises(openai.RateLimitError):
        for _ in range(5):
            client.chat.completions.create(**CHAT, max_tokens=5)  # type: ignore[call-overload]


def test_stats_endpoints_and_their_permissions(limited_gateway: str) -> None:
    mine = httpx.get(
        f"{limited_gateway}/rate-limit/stats", headers={"Authorization": f"Bearer {LIMITED}"}
    )
    (name,) = mine.json()["users"]
    own = httpx.get(
        f"{limited_gateway}/rate-limit/stats/{name}", headers={"Authorization": f"Bearer {LIMITED}"}
    )
    assert own.status_code == 200 and own.json()["user_id"] == name
    (limit,) = own.json()["limits"]
    assert limit["limit"] == "3 requests/minute" and limit["amount"] == 3
    other = httpx.get(
        f"{limited_gateway}/rate-limit/stats/someone-else",
        headers={"Authorization": f"Bearer {LIMITED}"},
    )
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_admin"
    admin = httpx.get(
        f"{limited_gateway}/rate-limit/stats", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert name in admin.json()["users"]
    assert httpx.get(f"{limited_gateway}/rate-limit/stats").status_code == 401

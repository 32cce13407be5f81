"""One request to the local models cannot stall the gateway (issue 9, item 5).

Before: ``{"model": "local-echo", "n": 128, "messages": [...40k words...]}`` held the
event loop (``/health`` included) for 4.9 s and took RSS from 85 to 460 MB. Now the
work one request may ask for is bounded (a 400), and an allowed large answer streams
while the gateway goes on serving. (The stall itself is measured by
``bench/loop_stall.py``; here the behaviour.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from continuum.app import create_app
from continuum.providers.local.provider import MAX_OUTPUT_TOKENS
from continuum.settings import Settings
from continuum.testing.server import serve_in_thread
from tests.conftest import FULL_KEY, Running

WORDS = " ".join(f"word{i % 1000}" for i in range(40_000))  # ~316k characters
AUTH = {"authorization": f"Bearer {FULL_KEY}"}


@pytest.fixture(scope="module")
def big_gateway(users_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A gateway whose body limit (the default 8 MiB) admits the issue's 40k-word prompt."""
    data_dir = tmp_path_factory.mktemp("data")
    settings = Settings.from_env({}, config_dir=users_config, data_dir=data_dir)
    with serve_in_thread(create_app(settings)) as url:
        yield Running(url, users_config, data_dir)


def chat(n: int, **extra: object) -> dict[str, object]:
    return {"model": "local-echo", "n": n, "messages": [{"role": "user", "content": WORDS}]} | extra


@pytest.mark.parametrize("stream", [False, True])
def test_the_issues_huge_n_request_is_a_clear_400(big_gateway: Running, stream: bool) -> None:
    response = httpx.post(
        f"{big_gateway.v1}/chat/completions", json=chat(128, stream=stream), headers=AUTH
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "n" and f"{MAX_OUTPUT_TOKENS:,}" in error["message"]


def test_max_tokens_bounds_the_work_so_the_same_n_is_allowed(big_gateway: Running) -> None:
    response = httpx.post(
        f"{big_gateway.v1}/chat/completions", json=chat(128, max_tokens=50), headers=AUTH
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["choices"]) == 128
    assert {c["finish_reason"] for c in body["choices"]} == {"length"}
    assert body["usage"]["completion_tokens"] == 128 * 50


def test_health_answers_while_a_large_allowed_answer_streams(big_gateway: Running) -> None:
    """Three echoes of 40k words (120k tokens) stream while /health is asked, read at once."""
    events: dict[str, float] = {}
    first_chunk = threading.Event()
    tokens = 0

    def stream() -> None:
        nonlocal tokens
        with httpx.stream(
            "POST",
            f"{big_gateway.v1}/chat/completions",
            json=chat(3, stream=True),
            headers=AUTH,
            timeout=60,
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    tokens += 1
                    first_chunk.set()
        events["stream ended"] = time.monotonic()

    reader = threading.Thread(target=stream)
    reader.start()
    assert first_chunk.wait(30)
    health = httpx.get(f"{big_gateway.url}/health", timeout=30)
    events["health answered"] = time.monotonic()
    reader.join(60)
    assert health.status_code == 200
    assert tokens > 100_000  # the whole answer came
    # The gateway answered /health in the middle of the answer, not after it.
    assert events["health answered"] < events["stream ended"]

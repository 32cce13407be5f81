"""``continuum serve`` as operators run it: JSON access lines on stderr, and ``/metrics``
summed over ``--workers 2``."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from continuum.testing.fake_upstream import FakeUpstream, fake_openai
from continuum.testing.server import free_port
from tests.e2e.test_cli import read_until, serve
from tests.observability.scrape import Scrape

KEY = "sk-observed-caller-key-000001"
UPSTREAM_KEY = "sk-upstream-provider-key-0002"
PROMPT = "the passphrase is wombat-cathedral-1987"
USERS = f'users:\n  - {{token: "{KEY}", name: "alice", permissions: "*"}}\n'


def models(upstream: str) -> str:
    return (
        "models:\n"
        "  - {id: local-text, provider: local, upstream_model: text}\n"
        f"  - {{id: remote, provider: openai, upstream_model: fake-model,"
        f" base_url: '{upstream}/v1', api_key: '{UPSTREAM_KEY}'}}\n"
    )


@pytest.fixture
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = fake_openai(chunks=4, api_key=UPSTREAM_KEY)
    with fake.run_in_thread() as url:
        yield fake, url


def configure(tmp_path: Path, upstream_url: str) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    (config / "users.yml").write_text(USERS)
    (config / "models.yml").write_text(models(upstream_url))
    return {"CONTINUUM_CONFIG_DIR": str(config)}


def test_a_requests_log_line_has_its_id_and_neither_key_nor_prompt(
    tmp_path: Path, upstream: tuple[FakeUpstream, str]
) -> None:
    fake, upstream_url = upstream
    port = free_port()
    env = {**configure(tmp_path, upstream_url), "CONTINUUM_LOG_FORMAT": "json"}
    with serve(tmp_path, "--port", str(port), env=env) as (process, lines):
        read_until(process, lines, "Uvicorn running")
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="remote", messages=[{"role": "user", "content": PROMPT}]
        )
        request_id = raw.headers["x-request-id"]
        assert raw.parse().choices[0].message.content
        line = read_until(process, lines, f'"request_id":"{request_id}"')
        sent = fake.recorder.last.headers
    record: dict[str, Any] = orjson.loads(line)
    assert record["logger"] == "continuum.access" and record["level"] == "info"
    assert record["request_id"] == request_id and request_id.startswith("chatcmpl-")
    assert record["door"] == "http" and record["status"] == 200
    assert record["model"] == "remote" and record["deployment"].startswith("openai/fake-model@")
    assert record["completion_tokens"] > 0 and record["latency_ms"] > 0
    assert record["user"] == "alice"
    # The same id went upstream, so the provider's logs can be joined with ours.
    assert sent["x-request-id"] == request_id
    everything = "".join(lines)
    for secret in (KEY, UPSTREAM_KEY, "wombat-cathedral"):
        assert secret not in everything, secret
    # Every line on stderr is JSON (the banner goes to stdout).
    json_lines = [orjson.loads(x) for x in lines if x.startswith("{")]
    assert any(x.get("logger", "").startswith("uvicorn") for x in json_lines)


def drain(process: subprocess.Popen[str], lines: list[str]) -> threading.Thread:
    """Keep reading the server's output, so its log writes never block on a full pipe."""
    assert process.stdout is not None
    stdout = process.stdout

    def run() -> None:
        for line in iter(stdout.readline, ""):
            lines.append(line)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _served_by(data_dir: Path) -> dict[str, int]:
    """Requests in the usage ledger per worker process (the ledger's origin)."""
    try:
        with sqlite3.connect(data_dir / "continuum.db") as db:
            entries = [row[0] for row in db.execute("SELECT entry FROM continuum_usage")]
    except sqlite3.OperationalError:  # the table is being created
        return {}
    served: dict[str, int] = {}
    for entry in entries:
        origin = str(entry).rsplit("-", 1)[0]
        served[origin] = served.get(origin, 0) + 1
    return served


def test_two_workers_any_scrape_shows_the_sum(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "users.yml").write_text(USERS)
    env = {"CONTINUUM_CONFIG_DIR": str(tmp_path / "config")}
    body = {"model": "local-text", "max_tokens": 3, "messages": [{"role": "user", "content": "Hi"}]}
    headers = {"authorization": f"Bearer {KEY}"}
    with serve(tmp_path, "--port", str(port), "--workers", "2", env=env) as (process, lines):
        read_until(process, lines, "Application startup complete")
        drain(process, lines)
        sent = 0
        deadline = time.monotonic() + 30
        # A new connection each time: the kernel spreads them over both workers; go on
        # until the ledger shows that both served some, then until it has every request.
        served: dict[str, int] = {}
        while len(served) < 2:
            for _ in range(10):
                reply = httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers)
                assert reply.status_code == 200, reply.text
                sent += 1
            served = _served_by(tmp_path / "data")
            assert time.monotonic() < deadline, (served, sent)
        while sum(served.values()) < sent:
            time.sleep(0.2)  # each worker's ledger writes in batches
            served = _served_by(tmp_path / "data")
            assert time.monotonic() < deadline, (served, sent)
        assert max(served.values()) < sent  # no worker saw every request
        # Each worker publishes its series at least once a second; every scrape (any
        # worker may answer it) then shows the sum.
        where = {"door": "http", "model": "local-text", "status": "200"}
        scrapes: list[float] = []
        while len(scrapes) < 6:
            scraped = Scrape(httpx.get(f"{base}/metrics").text)
            total = scraped.value("continuum_requests_total", **where)
            if total == sent or scrapes:
                scrapes.append(total)
                assert scraped.value("continuum_completion_tokens_total") == 3 * sent
            assert time.monotonic() < deadline + 20, total
            time.sleep(0.1)
        assert scrapes == [sent] * 6
    metrics_dirs = list((tmp_path / "data" / "metrics").iterdir())
    assert len(metrics_dirs) == 1  # the server's own, under the data dir

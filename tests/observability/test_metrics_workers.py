"""Several worker processes: any scrape shows the sum of every worker's series.

prometheus-client chooses multiprocess mode at import, from PROMETHEUS_MULTIPROC_DIR,
so these tests run their workers as child processes with the variable set, as
``continuum serve --workers N`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from continuum.observability import multiprocess
from continuum.testing.server import free_port
from tests.observability.scrape import Scrape


def _env(directory: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != multiprocess.ENV}
    return {**env, **multiprocess.environment(directory), **extra}


@contextmanager
def worker(directory: Path, requests: int, streams: int) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.observability.mp_worker", str(requests), str(streams)],
        env=_env(directory),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def test_two_processes_add_up_and_a_dead_ones_live_gauges_leave(tmp_path: Path) -> None:
    directory = multiprocess.prepare_directory(tmp_path)
    with worker(directory, 30, 2) as first, worker(directory, 50, 3) as second:
        both = Scrape(multiprocess.collect(directory))
        assert both.value("continuum_requests_total", status="200") == 80
        assert both.value("continuum_prompt_tokens_total") == 240
        assert both.value("continuum_completion_tokens_total") == 320
        assert both.value("continuum_request_duration_seconds_count") == 80
        assert both.value("continuum_time_to_first_token_seconds_bucket", le="0.005") == 80
        assert both.value("continuum_rate_limited_total") == 2
        assert both.value("continuum_open_streams", door="openai") == 5

        second.kill()  # no chance to clean up: the next scrape drops its live gauges
        second.wait(timeout=10)
        after_kill = Scrape(multiprocess.collect(directory))
        assert after_kill.value("continuum_open_streams", door="openai") == 2
        assert after_kill.value("continuum_requests_total") == 80  # its counts stay

        assert first.stdin is not None
        first.stdin.close()  # closes its streams and exits cleanly
        assert first.wait(timeout=10) == 0
        after_exit = Scrape(multiprocess.collect(directory))
        assert after_exit.value("continuum_open_streams") == 0
        assert after_exit.value("continuum_requests_total") == 80
    assert not list(directory.glob("gauge_live*"))


def test_prepare_directory_clears_old_runs_but_not_live_servers(tmp_path: Path) -> None:
    stale = tmp_path / "metrics" / "999999999"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"x")
    alive = tmp_path / "metrics" / "1"  # pid 1 always exists
    alive.mkdir()
    directory = multiprocess.prepare_directory(tmp_path)
    assert directory == tmp_path / "metrics" / str(os.getpid())
    assert list(directory.iterdir()) == []
    assert not stale.exists()
    assert alive.exists()


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)


def test_uvicorn_with_two_workers_scrapes_the_sum(tmp_path: Path) -> None:
    directory = multiprocess.prepare_directory(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "tests.observability.metrics_app:create",
            "--factory", "--workers", "2", "--port", str(port), "--log-level", "warning",
        ],
        env=_env(directory, TEST_METRICS_FLUSH="0.1"),
    )  # fmt: skip
    try:
        _wait_for(f"{base}/metrics", server)
        served: Counter[int] = Counter()
        # Each call opens a new connection, so the kernel spreads them over both workers.
        while len(served) < 2 or sum(served.values()) < 60:
            assert sum(served.values()) < 5000, f"one worker took everything: {served}"
            served[httpx.post(f"{base}/record").json()["pid"]] += 1
        total = sum(served.values())

        deadline = time.monotonic() + 20
        while True:
            scraped = Scrape(httpx.get(f"{base}/metrics").text)
            if scraped.value("continuum_requests_total") == total:
                break
            assert time.monotonic() < deadline, (scraped.value("continuum_requests_total"), served)
            time.sleep(0.05)
        # More than any one worker recorded: the scrape summed both.
        assert total > max(served.values())
        assert scraped.value("continuum_prompt_tokens_total") == 7 * total
        assert scraped.value("continuum_request_duration_seconds_count") == total
        assert scraped.value("continuum_request_duration_seconds_bucket", le="0.025") == total
        assert scraped.value("continuum_time_to_first_token_seconds_count") == total
    finally:
        server.terminate()
        server.wait(timeout=20)
    # The workers stopped cleanly: live gauges gone, the totals kept.
    assert not list(directory.glob("gauge_live*"))
    assert Scrape(multiprocess.collect(directory)).value("continuum_requests_total") == total

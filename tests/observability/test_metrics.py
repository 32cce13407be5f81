"""``Metrics`` in one process: what is recorded is what a scrape of ``/metrics`` shows."""

from __future__ import annotations

import random
import threading
from math import inf
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.routing import Route

from continuum.errors import ConfigError
from continuum.observability.exposition import MetricsEndpoint, is_loopback
from continuum.observability.metrics import Metrics
from continuum.observability.series import LATENCY_BUCKETS, TTFT_BUCKETS
from tests.observability.scrape import Scrape

METRICS_KEY = "mk-0123456789abcdef"


def app_for(metrics: Metrics, key: str | None = None) -> Starlette:
    return Starlette(
        routes=[Route("/metrics", MetricsEndpoint(metrics, key=key), methods=["GET", "HEAD"])]
    )


async def scrape(metrics: Metrics, client: tuple[str, int] = ("127.0.0.1", 5000)) -> Scrape:
    transport = httpx.ASGITransport(app=app_for(metrics), client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return Scrape(response.text)


async def test_counters_and_histograms_move_as_requests_are_recorded() -> None:
    metrics = Metrics()
    metrics.request_finished("openai", "local-text", "local", 200, 0.020, 0.004, 7, 11)
    metrics.request_finished("openai", "local-text", "local", 200, 0.300, 0.150, 3, 5)
    metrics.request_finished("openai", "local-text", None, 429, 0.001)
    first = await scrape(metrics)

    where = {"door": "openai", "model": "local-text", "deployment": "local"}
    assert first.value("continuum_requests_total", **where, status="200") == 2
    assert first.value("continuum_requests_total", deployment="none", status="429") == 1
    assert first.value("continuum_prompt_tokens_total", **where) == 10
    assert first.value("continuum_completion_tokens_total", **where) == 16
    assert first.value("continuum_request_duration_seconds_count", **where) == 2
    assert first.value("continuum_request_duration_seconds_sum", **where) == pytest.approx(0.32)
    assert first.value("continuum_request_duration_seconds_bucket", **where, le="0.025") == 1
    assert first.value("continuum_request_duration_seconds_bucket", **where, le="0.5") == 2
    assert first.value("continuum_time_to_first_token_seconds_count", **where) == 2
    assert first.value("continuum_time_to_first_token_seconds_bucket", **where, le="0.005") == 1
    assert first.value("continuum_time_to_first_token_seconds_sum", **where) == pytest.approx(0.154)
    # A refused request has a duration but no first token.
    assert first.value("continuum_request_duration_seconds_count", deployment="none") == 1
    assert first.value("continuum_time_to_first_token_seconds_count", deployment="none") == 0

    metrics.request_finished("openai", "local-text", "local", 200, 7.0, 6.0, 1, 1)
    second = await scrape(metrics)
    assert second.value("continuum_requests_total", **where, status="200") == 3
    assert second.value("continuum_request_duration_seconds_bucket", **where, le="5.0") == 2
    assert second.value("continuum_request_duration_seconds_bucket", **where, le="10.0") == 3
    assert second.value("continuum_time_to_first_token_seconds_bucket", **where, le="+Inf") == 3
    assert second.value("continuum_prompt_tokens_total", **where) == 11


def _plain(values: list[float], buckets: tuple[float, ...]) -> Scrape:
    registry = CollectorRegistry()
    histogram = Histogram("h", "h", ["door"], registry=registry, buckets=buckets)
    for value in values:
        histogram.labels("x").observe(value)
    return Scrape(generate_latest(registry))


async def test_deferred_histograms_match_prometheus_client_observe() -> None:
    """Pins the bucket arithmetic (and the library internals it writes) to ``observe``."""
    rng = random.Random(7)
    bounds = [b for b in LATENCY_BUCKETS if b != inf]
    latencies = [rng.choice([*bounds, 0.0, 1e-6, 301.0, rng.uniform(0, 400)]) for _ in range(400)]
    ttfts = [rng.choice([*TTFT_BUCKETS[:-1], 0.0, 45.0, rng.uniform(0, 40)]) for _ in range(400)]
    metrics = Metrics()
    for latency, ttft in zip(latencies, ttfts, strict=True):
        metrics.request_finished("x", "m", "d", 200, latency, ttft)
    ours = await scrape(metrics)
    for name, values, buckets in (
        ("continuum_request_duration_seconds", latencies, LATENCY_BUCKETS),
        ("continuum_time_to_first_token_seconds", ttfts, TTFT_BUCKETS),
    ):
        plain = _plain(values, buckets)
        for _, labels, value in plain.samples:
            if "le" in labels:
                assert ours.value(f"{name}_bucket", le=labels["le"]) == value, labels
        assert ours.value(f"{name}_count") == plain.value("h_count") == 400
        assert ours.value(f"{name}_sum") == pytest.approx(plain.value("h_sum"))


async def test_policy_and_upstream_counters() -> None:
    metrics = Metrics()
    metrics.rate_limited("openai", "local-text")
    metrics.rate_limited("openai", "local-text")
    metrics.upstream_error("gpt-a", "upstream_timeout")
    metrics.upstream_retry("gpt-a")
    metrics.fallback("gpt", "gpt-a", "gpt-b")
    metrics.cooldown("gpt-a")
    result = await scrape(metrics)
    assert result.value("continuum_rate_limited_total", door="openai", model="local-text") == 2
    assert result.value("continuum_upstream_errors_total", code="upstream_timeout") == 1
    assert result.value("continuum_upstream_retries_total", deployment="gpt-a") == 1
    assert (
        result.value("continuum_fallbacks_total", from_deployment="gpt-a", to_deployment="gpt-b")
        == 1
    )
    assert result.value("continuum_cooldowns_total", deployment="gpt-a") == 1


async def test_gauges_follow_opens_and_closes() -> None:
    metrics = Metrics()
    backlog, failures, dropped = [0], [0], [0]
    metrics.watch_ledger(lambda: backlog[0], lambda: failures[0], lambda: dropped[0])
    metrics.stream_opened("openai")
    metrics.stream_opened("openai")
    metrics.websocket_opened("openai-ws")
    tcp = [1]
    metrics.watch_tcp(lambda: tcp[0])  # the TCP listener's own count, read at scrape time
    metrics.session_opened()
    backlog[0], failures[0] = 42, 2
    with metrics.open_stream("anthropic"):
        during = await scrape(metrics)
    metrics.stream_closed("openai")
    metrics.websocket_closed("openai-ws")
    tcp[0] = 0
    backlog[0], failures[0], dropped[0] = 0, 3, 500
    after = await scrape(metrics)

    assert during.value("continuum_open_streams", door="openai") == 2
    assert during.value("continuum_open_streams", door="anthropic") == 1
    assert during.value("continuum_websocket_connections", door="openai-ws") == 1
    assert during.value("continuum_tcp_connections") == 1
    assert during.value("continuum_stream_sessions") == 1
    assert during.value("continuum_ledger_backlog") == 42
    assert during.value("continuum_ledger_write_failures_total") == 2
    assert during.value("continuum_ledger_dropped_records_total") == 0
    assert after.value("continuum_open_streams", door="openai") == 1
    assert after.value("continuum_open_streams", door="anthropic") == 0
    assert after.value("continuum_websocket_connections") == 0
    assert after.value("continuum_tcp_connections") == 0
    assert after.value("continuum_stream_sessions") == 1
    assert after.value("continuum_ledger_backlog") == 0
    assert after.value("continuum_ledger_write_failures_total") == 3  # counts, never resets
    assert after.value("continuum_ledger_dropped_records_total") == 500


async def test_each_metrics_object_has_its_own_series() -> None:
    one, two = Metrics(), Metrics()
    one.request_finished("openai", "a", "d", 200, 0.1)
    assert (await scrape(one)).value("continuum_requests_total") == 1
    assert (await scrape(two)).value("continuum_requests_total") == 0


def test_recording_from_threads_while_flushing_loses_nothing() -> None:
    metrics = Metrics()
    per_thread, threads = 5000, 4
    stop = threading.Event()

    def record() -> None:
        for i in range(per_thread):
            metrics.request_finished("openai", "m", "d", 200, 0.01, 0.001, 1, 2)
            metrics.rate_limited("openai", "m")
            with metrics.open_stream("openai"):
                if i % 1000 == 0:
                    metrics.flush()

    def flush() -> None:
        while not stop.is_set():
            metrics.flush()

    flusher = threading.Thread(target=flush)
    flusher.start()
    workers = [threading.Thread(target=record) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    flusher.join()
    result = Scrape(metrics.expose())
    total = per_thread * threads
    assert result.value("continuum_requests_total") == total
    assert result.value("continuum_completion_tokens_total") == 2 * total
    assert result.value("continuum_request_duration_seconds_count") == total
    assert result.value("continuum_rate_limited_total") == total
    assert result.value("continuum_open_streams") == 0


async def test_multiprocess_directory_without_multiprocess_mode_is_a_config_error(
    tmp_path: Path,
) -> None:
    # This test process imported prometheus-client without PROMETHEUS_MULTIPROC_DIR.
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        Metrics(multiprocess_dir=tmp_path)


async def test_start_and_aclose_in_one_process_flush_what_is_left() -> None:
    metrics = Metrics()
    await metrics.start()
    metrics.request_finished("openai", "m", "d", 200, 0.01)
    await metrics.aclose()
    assert Scrape(generate_latest(metrics.registry)).value("continuum_requests_total") == 1


# -- the endpoint's protection -------------------------------------------------------------


async def _get(
    app: Starlette, method: str = "GET", client: str = "127.0.0.1", **headers: str
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        return await http.request(method, "/metrics", headers=headers)


async def test_with_a_key_only_its_bearer_may_scrape_from_anywhere() -> None:
    metrics = Metrics()
    metrics.request_finished("openai", "m", "d", 200, 0.01)
    app = app_for(metrics, key=METRICS_KEY)
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": METRICS_KEY}):
        refused = await _get(app, client="127.0.0.1", **headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert "continuum_requests_total" not in refused.text
    allowed = await _get(app, client="203.0.113.9", authorization=f"Bearer {METRICS_KEY}")
    assert allowed.status_code == 200
    assert Scrape(allowed.text).value("continuum_requests_total") == 1


async def test_without_a_key_only_loopback_clients_may_scrape() -> None:
    app = app_for(Metrics())
    remote = await _get(app, client="203.0.113.9")
    assert remote.status_code == 403
    assert remote.json()["error"]["code"] == "metrics_forbidden"
    for client in ("127.0.0.1", "127.0.0.2", "::1"):
        assert (await _get(app, client=client)).status_code == 200
    assert is_loopback("localhost") and not is_loopback(None) and not is_loopback("example.com")


async def test_head_answers_headers_only_and_other_methods_are_refused() -> None:
    metrics = Metrics()
    metrics.request_finished("openai", "m", "d", 200, 0.01)
    endpoint = MetricsEndpoint(metrics)
    app = Starlette(routes=[Route("/metrics", endpoint, methods=["GET", "HEAD", "POST"])])
    head = await _get(app, "HEAD")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 100
    post = await _get(app, "POST")
    assert post.status_code == 405
    assert post.json()["error"]["code"] == "method_not_allowed"


async def test_watching_the_real_ledger(tmp_path: Path) -> None:
    from continuum.core.ports import UsageRecord
    from continuum.store.database import Database, database_url
    from continuum.usage.ledger import BatchingLedger
    from continuum.usage.store import UsageStore

    database = Database(database_url(None, tmp_path))
    await database.migrate()
    ledger = BatchingLedger(UsageStore(database))  # not started: records wait in its queue
    metrics = Metrics()
    metrics.watch_ledger(
        lambda: ledger.backlog,
        lambda: ledger.write_failures,
        lambda: ledger.dropped,
        lambda: ledger.rejected,
        lambda: ledger.journal_failures,
    )
    for i in range(3):
        ledger.record(UsageRecord(f"r{i}", "u", None, "m", "d", 1, 2, 3.0, 1.0, 200, None, 0.0))
    assert (await scrape(metrics)).value("continuum_ledger_backlog") == 3
    await ledger.flush()
    async with database.engine.begin() as conn:  # the database refuses one model from now on
        await conn.exec_driver_sql(
            "CREATE TRIGGER poison BEFORE INSERT ON continuum_usage WHEN NEW.model = 'poison'"
            " BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
        )
    ledger.record(UsageRecord("bad", "u", None, "poison", "d", 1, 2, 3.0, 1.0, 200, None, 0.0))
    ledger.record(UsageRecord("good", "u", None, "m", "d", 1, 2, 3.0, 1.0, 200, None, 0.0))
    await ledger.flush()
    await database.close()
    scraped = await scrape(metrics)
    assert scraped.value("continuum_ledger_backlog") == 0
    assert scraped.value("continuum_ledger_rejected_records_total") == 1
    assert scraped.value("continuum_ledger_write_failures_total") == 0

"""Prometheus metrics: one ``Metrics`` object per gateway, cheap to record into.

Recording happens on every request, so a call only adds numbers to plain Python
accumulators keyed by their label values (one dict lookup and a few additions under a
lock). ``flush`` moves what accumulated into prometheus-client's series: before every
exposition, and, with several worker processes, once a second in each worker
(``start``), so multiprocess mode's file-backed values are written once per series per
second rather than several times per request. Why, with figures: docs/decisions.md
("Observability").

Series (all prefixed ``continuum_``)::

    requests_total{door,model,deployment,status}          counter
    request_duration_seconds{door,model,deployment}       histogram
    time_to_first_token_seconds{door,model,deployment}    histogram
    prompt_tokens_total / completion_tokens_total{door,model,deployment}
    rate_limited_total{door,model}
    upstream_errors_total{deployment,code}  upstream_retries_total{deployment}
    fallbacks_total{model,from_deployment,to_deployment}  cooldowns_total{deployment}
    open_streams{door}  websocket_connections{door}  tcp_connections  stream_sessions
    ledger_backlog  ledger_write_failures_total  ledger_dropped_records_total
    ledger_rejected_records_total  ledger_journal_failures_total

A request that failed before a deployment was chosen has ``deployment="none"``. Label
values must come from configuration (model ids, deployment names, door names, error
codes), never from raw client input: each distinct value is a series for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from continuum.errors import ConfigError
from continuum.observability import multiprocess
from continuum.observability.series import LATENCY_BUCKETS, NO_DEPLOYMENT, TTFT_BUCKETS, Series

_Labels = tuple[str, ...]


class _Requests:
    """What one (door, model, deployment, status) accumulated since the last flush."""

    __slots__ = ("completion", "count", "latency", "latency_sum", "prompt", "ttft", "ttft_sum")

    def __init__(self) -> None:
        self.count = 0
        self.prompt = 0
        self.completion = 0
        self.latency = [0] * len(LATENCY_BUCKETS)
        self.latency_sum = 0.0
        self.ttft = [0] * len(TTFT_BUCKETS)
        self.ttft_sum = 0.0


def _add_histogram(child: Histogram, counts: list[int], total: float) -> None:
    # prometheus-client has no public "add n observations to bucket i"; its children keep
    # one value per bucket (non-cumulative) plus the sum. tests/observability pins this
    # against plain ``observe`` calls, so a change in the library fails a test.
    buckets = child._buckets
    for index, count in enumerate(counts):
        if count:
            buckets[index].inc(count)
    child._sum.inc(total)


class Metrics:
    """The gateway's Prometheus series, recorded cheaply and exposed in text format.

    ``multiprocess_dir``: the directory of prometheus-client's multiprocess mode, given
    when the server runs several workers (see ``continuum.observability.multiprocess``);
    ``None`` keeps the series in this process's memory. Record from any thread.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, *, multiprocess_dir: Path | None = None, flush_interval: float = 1.0):
        if multiprocess_dir is not None and not multiprocess.is_enabled():
            raise ConfigError(
                "environment",
                multiprocess.ENV,
                "is not set in this worker process, so its metrics would not add up",
                "set it before the workers start (continuum serve --workers does this)",
            )
        if multiprocess_dir is None and multiprocess.is_enabled():
            raise ConfigError(
                "environment",
                multiprocess.ENV,
                "is set, but the gateway was given no metrics directory",
                "pass the same directory as multiprocess_dir, or unset the variable",
            )
        self.registry = CollectorRegistry(auto_describe=False)
        self.multiprocess_dir = multiprocess_dir
        self._series = Series(self.registry)
        self._flush_interval = flush_interval
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._requests: dict[tuple[str, str, str | None, int], _Requests] = {}
        self._counts: dict[tuple[Counter, _Labels], float] = {}
        self._levels: dict[tuple[Gauge, _Labels], int] = {}
        self._written: dict[tuple[Gauge, _Labels], int] = {}
        self._backlog: Callable[[], int] | None = None
        self._tcp: list[Callable[[], int]] = []
        self._ledger_counts: list[tuple[Callable[[], int], Counter, int]] = []
        self._children: dict[tuple[Any, _Labels], Any] = {}
        self._task: asyncio.Task[None] | None = None

    # -- the hot path ------------------------------------------------------------------

    def request_finished(
        self,
        door: str,
        model: str,
        deployment: str | None,
        status: int,
        latency_s: float,
        ttft_s: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        """One request ended (any status, streamed or not): count it, its time and tokens."""
        key = (door, model, deployment, status)
        with self._lock:
            entry = self._requests.get(key)
            if entry is None:
                entry = self._requests[key] = _Requests()
            entry.count += 1
            entry.prompt += prompt_tokens
            entry.completion += completion_tokens
            entry.latency[bisect_left(LATENCY_BUCKETS, latency_s)] += 1
            entry.latency_sum += latency_s
            if ttft_s is not None:
                entry.ttft[bisect_left(TTFT_BUCKETS, ttft_s)] += 1
                entry.ttft_sum += ttft_s

    def rate_limited(self, door: str, model: str) -> None:
        """A request was refused by a rate limit (429)."""
        self._count(self._series.rate_limited, (door, model))

    def upstream_error(self, deployment: str, code: str) -> None:
        """One attempt at ``deployment`` failed; ``code`` is the error's code."""
        self._count(self._series.upstream_errors, (deployment, code))

    def upstream_retry(self, deployment: str) -> None:
        """The router tries ``deployment`` again."""
        self._count(self._series.upstream_retries, (deployment,))

    def fallback(self, model: str, from_deployment: str, to_deployment: str) -> None:
        """The router moved a request of ``model`` to another deployment."""
        self._count(self._series.fallbacks, (model, from_deployment, to_deployment))

    def cooldown(self, deployment: str) -> None:
        """``deployment`` was taken out of rotation for its cooldown."""
        self._count(self._series.cooldowns, (deployment,))

    def stream_opened(self, door: str) -> None:
        self._level(self._series.open_streams, (door,), 1)

    def stream_closed(self, door: str) -> None:
        self._level(self._series.open_streams, (door,), -1)

    def websocket_opened(self, door: str) -> None:
        self._level(self._series.websockets, (door,), 1)

    def websocket_closed(self, door: str) -> None:
        self._level(self._series.websockets, (door,), -1)

    def session_opened(self) -> None:
        """A stream session started generating (the sessions door calls this)."""
        self._level(self._series.sessions, (), 1)

    def session_closed(self) -> None:
        self._level(self._series.sessions, (), -1)

    @contextlib.contextmanager
    def open_stream(self, door: str) -> Iterator[None]:
        """``stream_opened`` for the duration of a block, closed however it ends."""
        self.stream_opened(door)
        try:
            yield
        finally:
            self.stream_closed(door)

    def watch_ledger(
        self,
        backlog: Callable[[], int],
        write_failures: Callable[[], int] | None = None,
        dropped: Callable[[], int] | None = None,
        rejected: Callable[[], int] | None = None,
        journal_failures: Callable[[], int] | None = None,
    ) -> None:
        """Read the ledger's own counts at every flush (never per request).

        ``backlog``: records queued now; ``write_failures``, ``dropped``, ``rejected`` and
        ``journal_failures``: failed writes, records given up, records the database
        refused, records not journaled so far (cumulative, as ``BatchingLedger`` keeps them).
        """
        self._backlog = backlog
        self._ledger_counts = [
            (source, counter, 0)
            for source, counter in (
                (write_failures, self._series.ledger_failures),
                (dropped, self._series.ledger_dropped),
                (rejected, self._series.ledger_rejected),
                (journal_failures, self._series.ledger_unjournaled),
            )
            if source is not None
        ]

    def watch_tcp(self, connections: Callable[[], int]) -> Callable[[], None]:
        """Read a TCP listener's open connections at every flush; returns the undo.

        The listener already keeps its connections, so counting them at scrape time
        costs a connection nothing.
        """
        self._tcp.append(connections)
        return lambda: self._tcp.remove(connections)

    def _count(self, counter: Counter, labels: _Labels, amount: float = 1) -> None:
        key = (counter, labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def _level(self, gauge: Gauge, labels: _Labels, delta: int) -> None:
        key = (gauge, labels)
        with self._lock:
            self._levels[key] = self._levels.get(key, 0) + delta

    # -- flushing and exposition -------------------------------------------------------

    def flush(self) -> None:
        """Move everything recorded so far into the Prometheus series."""
        with self._flush_lock:
            with self._lock:
                requests, self._requests = self._requests, {}
                counts, self._counts = self._counts, {}
                levels = {k: v for k, v in self._levels.items() if self._written.get(k) != v}
            series, child = self._series, self._child
            for (door, model, deployment, status), entry in requests.items():
                where = (door, model, deployment or NO_DEPLOYMENT)
                child(series.requests, (*where, str(status))).inc(entry.count)
                if entry.prompt:
                    child(series.prompt_tokens, where).inc(entry.prompt)
                if entry.completion:
                    child(series.completion_tokens, where).inc(entry.completion)
                _add_histogram(child(series.latency, where), entry.latency, entry.latency_sum)
                if any(entry.ttft):
                    _add_histogram(child(series.ttft, where), entry.ttft, entry.ttft_sum)
            for (counter, labels), amount in counts.items():
                child(counter, labels).inc(amount)
            for (gauge, labels), level in levels.items():
                child(gauge, labels).set(level)
            self._written.update(levels)
            if self._tcp:
                series.tcp.set(sum(count() for count in self._tcp))
            if self._backlog is not None:
                series.ledger_backlog.set(self._backlog())
            for index, (source, counter, seen) in enumerate(self._ledger_counts):
                now = source()
                if now > seen:
                    counter.inc(now - seen)
                    self._ledger_counts[index] = (source, counter, now)

    def _child(self, metric: Any, labels: _Labels) -> Any:
        """The labelled series, resolved once (``labels()`` costs about a microsecond)."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels) if labels else metric
        return found

    def expose(self) -> bytes:
        """The text exposition format (``content_type``), summed over workers if several."""
        self.flush()
        if self.multiprocess_dir is not None:
            return multiprocess.collect(self.multiprocess_dir)
        return generate_latest(self.registry)

    async def start(self) -> None:
        """With several workers, flush once a second so any worker's scrape sees this one."""
        if self.multiprocess_dir is not None and self._task is None:
            self._task = asyncio.create_task(self._flush_forever(), name="metrics-flush")

    async def aclose(self) -> None:
        """Flush what is left; a worker's live gauges leave the sums with it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()
        if self.multiprocess_dir is not None:
            multiprocess.forget(os.getpid(), self.multiprocess_dir)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            self.flush()

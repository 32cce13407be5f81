"""What recording a request's metrics costs the hot path, in one process and in many.

    .venv/bin/python -m bench.metrics_cost [--rounds 200] [--calls 2000]

Times, per request, the calls a door and the pipeline make for one request: a plain
request (``request_finished``) and a streamed one (``stream_opened``,
``request_finished``, ``stream_closed``), against the same series recorded straight
into prometheus-client children (labels resolved once and cached, the best one can do
with the library alone). Each is measured in this process (in-memory values) and in a
child process in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, values in mmap'd
files, as with ``--workers N``). Variants run round-robin, so they share the machine's
state; the figures are medians over rounds of ``--calls`` requests. Also reports what
one ``flush`` of 20 series costs (it runs before each scrape and once a second per
worker with several workers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from continuum.observability.metrics import Metrics
from continuum.observability.multiprocess import ENV, is_enabled
from continuum.observability.series import LATENCY_BUCKETS, TTFT_BUCKETS

Variant = Callable[[], None]


def ours(metrics: Metrics) -> dict[str, Variant]:
    def plain() -> None:
        metrics.request_finished("openai", "local-text", "local", 200, 0.0123, 0.0021, 12, 40)

    def streamed() -> None:
        metrics.stream_opened("openai")
        metrics.request_finished("openai", "local-text", "local", 200, 0.0123, 0.0021, 12, 40)
        metrics.stream_closed("openai")

    return {"deferred (Metrics)": plain, "deferred (Metrics), streamed": streamed}


def direct() -> dict[str, Variant]:
    """The same series through prometheus-client alone, children cached per label set."""
    registry = CollectorRegistry()
    where = ("door", "model", "deployment")
    requests = Counter("r", "r", [*where, "status"], registry=registry)
    latency = Histogram("l", "l", where, registry=registry, buckets=LATENCY_BUCKETS)
    ttft = Histogram("t", "t", where, registry=registry, buckets=TTFT_BUCKETS)
    prompt = Counter("p", "p", where, registry=registry)
    completion = Counter("c", "c", where, registry=registry)
    streams = Gauge("s", "s", ["door"], registry=registry, multiprocess_mode="livesum")
    cache: dict[tuple[str, str, str, int], tuple[Any, ...]] = {}

    def plain() -> None:
        key = ("openai", "local-text", "local", 200)
        children = cache.get(key)
        if children is None:
            labels = key[:3]
            children = cache[key] = (
                requests.labels(*labels, str(key[3])),
                latency.labels(*labels),
                ttft.labels(*labels),
                prompt.labels(*labels),
                completion.labels(*labels),
            )
        children[0].inc()
        children[1].observe(0.0123)
        children[2].observe(0.0021)
        children[3].inc(12)
        children[4].inc(40)

    stream = streams.labels("openai")

    def streamed() -> None:
        stream.inc()
        plain()
        stream.dec()

    return {"direct prometheus-client": plain, "direct prometheus-client, streamed": streamed}


def flush_cost(metrics: Metrics, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        for model in range(10):
            for status in (200, 429):
                metrics.request_finished("openai", f"m{model}", "d", status, 0.01, 0.001, 1, 1)
        started = time.perf_counter_ns()
        metrics.flush()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples)


def measure(directory: Path | None, rounds: int, calls: int) -> dict[str, float]:
    """Median ns per request for each variant, in this process's mode."""
    metrics = Metrics(multiprocess_dir=directory)
    variants = {**ours(metrics), **direct()}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            started = time.perf_counter_ns()
            for _ in range(calls):
                variant()
            samples[name].append((time.perf_counter_ns() - started) / calls)
        metrics.flush()  # as the background flush would, so accumulators stay small
    results = {name: statistics.median(values) for name, values in samples.items()}
    results["flush of 20 series (per flush)"] = flush_cost(metrics, 50)
    return results


def child(rounds: int, calls: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, ENV: directory}
        output = subprocess.run(
            [sys.executable, "-m", "bench.metrics_cost", "--child", directory,
             "--rounds", str(rounds), "--calls", str(calls)],
            env=env, check=True, capture_output=True,
        ).stdout  # fmt: skip
    result: dict[str, float] = orjson.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        assert is_enabled(), f"{ENV} must be set for the multiprocess child"
        sys.stdout.write(orjson.dumps(measure(args.child, args.rounds, args.calls)).decode())
        return
    assert not is_enabled(), f"unset {ENV} to measure the single-process mode"
    single = measure(None, args.rounds, args.calls)
    multi = child(args.rounds, args.calls)
    print(f"{'per request (median ns)':<40} {'one process':>12} {'multiprocess':>13}")
    for name in single:
        print(f"{name:<40} {single[name]:>12,.0f} {multi[name]:>13,.0f}")
    for mode, figures in (("one process", single), ("multiprocess", multi)):
        ratio = figures["direct prometheus-client"] / figures["deferred (Metrics)"]
        streamed = (
            figures["direct prometheus-client, streamed"] / figures["deferred (Metrics), streamed"]
        )
        print(f"{mode}: deferred is {ratio:.1f}x cheaper than direct ({streamed:.1f}x streamed)")


if __name__ == "__main__":
    main()

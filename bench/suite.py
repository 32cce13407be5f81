"""The measurements, run against one target at a time; medians of repeated runs."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from bench import clients, wrk
from bench.procs import Service
from bench.targets import CHAT, CLIENT_CPUS, Target, prompt

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Plan:
    """How long and how often each measurement runs."""

    repeats: int
    throughput_s: float
    latency_s: float
    stream_s: float
    ttfc_count: int
    ttfc_max_s: float
    streams: int  # concurrent slow streams held by Continuum
    peer_streams: int  # ... by the peer, which opens them far more slowly
    stream_open_timeout: float
    peer_open_timeout: float
    slow_delay: float = 5.0  # seconds between the chunks of a held stream
    latency_connections: tuple[int, ...] = (1, 16)
    stream_models: tuple[str, ...] = ("bench-20", "bench-200")


FULL = Plan(3, 8, 5, 6, 2000, 8, 10_000, 1_000, 150, 60)
QUICK = Plan(1, 3, 2, 3, 300, 3, 2_000, 200, 40, 20)
# Seconds long: only checks that every part of the harness still works (tests/bench).
SMOKE = Plan(1, 1, 1, 1, 10, 1, 20, 10, 10, 10, 0.5, (1,), ("bench-20",))


def body(model: str, stream: bool) -> bytes:
    return orjson.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": prompt(model)}],
            "stream": stream,
        }
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class RssSampler:
    """Samples a service's RSS in a thread; ``peak`` is the highest seen."""

    def __init__(self, service: Service | None, every: float = 0.25):
        self._service = service
        self._every = every
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        assert self._service is not None
        while not self._stop.is_set():
            self.peak = max(self.peak, self._service.rss())
            self._stop.wait(self._every)

    def __enter__(self) -> RssSampler:
        if self._service is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._service is not None:
            self._thread.join()


@dataclass
class Measured:
    """A wrk run plus the CPU the measured process spent during it."""

    result: wrk.WrkResult
    cpu_s: float | None
    peak_rss: int


def _load(target: Target, model: str, stream: bool, connections: int, seconds: float) -> Measured:
    service = target.measured
    before = service.cpu() if service else None
    with RssSampler(service) as sampler:
        result = wrk.run(
            target.url(model),
            body(model, stream),
            connections=connections,
            seconds=seconds,
            key=target.key,
            cpus=CLIENT_CPUS,
        )
    cpu = service.cpu() - before if service and before is not None else None
    return Measured(result, cpu, sampler.peak)


def _errors(runs: list[Measured]) -> int:
    return sum(run.result.errors for run in runs)


def measure(
    target: Target,
    plan: Plan,
    log: Callable[[str], None],
    upstream_chunks: dict[str, int],
    answers: dict[str, str],
) -> dict[str, Any]:
    """Every measurement on one running target (started and stopped by the caller).

    ``upstream_chunks`` maps a model to the data lines the upstream sends per answer,
    filled in by the direct run (measured first); chunks/s counts those, so a gateway
    that adds lines of its own (a role chunk, a usage chunk) gets no credit for them.
    ``answers`` likewise holds the direct path's streamed text, to check each gateway's.
    """
    service = target.measured
    out: dict[str, Any] = {"label": target.label}
    port = target.port("bench-20")
    stream_20 = body("bench-20", True)

    # Warm up (imports on first use, connection pools), then read the idle memory.
    shape = clients.first_chunks(port, CHAT, stream_20, target.key, count=20, max_seconds=5)
    if shape.errors or not shape.ttfc_ms:
        raise RuntimeError(f"{target.name}: warm-up streaming requests failed")
    if plan.repeats > 1 or plan.throughput_s > 1:
        _load(target, "bench-20", False, 4, 1)
    if service is not None:
        time.sleep(1.0)
        out["rss_idle_mb"] = service.rss() / MiB
        log(f"  idle RSS {out['rss_idle_mb']:.1f} MB")

    runs = [_load(target, "bench-20", False, 64, plan.throughput_s) for _ in range(plan.repeats)]
    out["rps_64"] = median([r.result.rps for r in runs])
    out["errors_64"] = _errors(runs)
    if service is not None:
        out["cpu_s_per_1000"] = median(
            [1000 * (r.cpu_s or 0) / max(1, r.result.requests) for r in runs]
        )
        out["rss_load_mb"] = max(r.peak_rss for r in runs) / MiB
    log(f"  non-streaming, 64 connections: {out['rps_64']:.0f} req/s")

    for connections in plan.latency_connections:
        runs = [
            _load(target, "bench-20", False, connections, plan.latency_s)
            for _ in range(plan.repeats)
        ]
        out[f"p50_ms_{connections}"] = median([r.result.p50_ms for r in runs])
        out[f"p99_ms_{connections}"] = median([r.result.p99_ms for r in runs])
        out[f"rps_{connections}"] = median([r.result.rps for r in runs])
        out[f"errors_{connections}"] = _errors(runs)
        log(
            f"  latency at {connections} connection(s): p50 {out[f'p50_ms_{connections}']:.3f} ms"
            f", p99 {out[f'p99_ms_{connections}']:.3f} ms"
        )

    timing = clients.first_chunks(
        port, CHAT, stream_20, target.key, count=plan.ttfc_count, max_seconds=plan.ttfc_max_s
    )
    out["ttfc_p50_ms"] = timing.ttfc_p50
    out["ttfc_p99_ms"] = timing.ttfc_p99
    out["ttfc_samples"] = len(timing.ttfc_ms)
    out["ttfc_errors"] = timing.errors
    log(f"  time to first chunk: p50 {timing.ttfc_p50:.3f} ms ({len(timing.ttfc_ms)} streams)")

    for model in plan.stream_models:
        probe = clients.first_chunks(
            target.port(model), CHAT, body(model, True), target.key, count=1, max_seconds=10
        )
        chunks = probe.chunks
        upstream_chunks.setdefault(model, chunks)
        answers.setdefault(model, probe.content)
        # A gateway that cuts a stream short would relay fewer chunks for less work.
        # (The local model writes its own text, so only proxied answers are compared.)
        complete = probe.content == answers[model] or target.local
        out[f"complete_answer_{model.removeprefix('bench-')}"] = complete
        if not complete:
            log(
                f"  WARNING: {target.name} relayed {len(probe.content)} of "
                f"{len(answers[model])} characters of a {model} answer"
            )
        relayed = upstream_chunks[model]
        runs = [_load(target, model, True, 16, plan.stream_s) for _ in range(plan.repeats)]
        tag = model.removeprefix("bench-")
        out[f"chunks_per_answer_{tag}"] = chunks
        out[f"chunks_per_s_{tag}"] = median([r.result.rps * relayed for r in runs])
        out[f"streams_per_s_{tag}"] = median([r.result.rps for r in runs])
        out[f"errors_stream_{tag}"] = _errors(runs)
        if service is not None:
            out[f"cpu_us_per_chunk_{tag}"] = median(
                [1e6 * (r.cpu_s or 0) / max(1, r.result.requests * relayed) for r in runs]
            )
        log(
            f"  streaming {relayed} upstream chunks per answer ({chunks} sent): "
            f"{out[f'chunks_per_s_{tag}']:.0f} chunks/s"
        )
    return out


def hold(target: Target, count: int, timeout: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Hold ``count`` slow streams open at once and read the memory they take."""
    service = target.measured
    assert service is not None
    before = service.rss()
    held: dict[str, int] = {}

    def read() -> None:
        held["rss"] = service.rss()

    result = asyncio.run(
        clients.hold_streams(
            target.port("bench-slow"),
            CHAT,
            body("bench-slow", True),
            target.key,
            count=count,
            open_timeout=timeout,
            while_held=read,
        )
    )
    time.sleep(1.0)
    per_stream = (held["rss"] - before) / max(1, result.opened)
    out = {
        "streams_wanted": count,
        "streams_opened": result.opened,
        "streams_errors": result.errors,
        "streams_open_s": result.open_seconds,
        "rss_streams_mb": held["rss"] / MiB,
        "kb_per_stream": per_stream / 1024,
        "rss_after_streams_mb": service.rss() / MiB,
    }
    log(
        f"  {result.opened}/{count} concurrent streams in {result.open_seconds:.1f} s: "
        f"RSS {out['rss_streams_mb']:.0f} MB ({out['kb_per_stream']:.1f} KB per stream), "
        f"{result.errors} errors"
    )
    return out

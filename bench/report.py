"""The results as one Markdown table (targets side by side, ratios, the issue's targets)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Results = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    value: Callable[[Results, str], float | None]
    digits: int
    ratio: bool = False  # show "Continuum vs LiteLLM" as a ratio
    target: str = ""
    met: Callable[[Results], bool | None] | None = None


def _get(key: str) -> Callable[[Results, str], float | None]:
    def value(results: Results, name: str) -> float | None:
        raw = results.get(name, {}).get(key)
        return float(raw) if isinstance(raw, int | float) else None

    return value


def _added(key: str) -> Callable[[Results, str], float | None]:
    def value(results: Results, name: str) -> float | None:
        if name == "direct":
            return None
        mine, direct = _get(key)(results, name), _get(key)(results, "direct")
        return None if mine is None or direct is None else mine - direct

    return value


def _ratio_at_least(key: str, factor: float) -> Callable[[Results], bool | None]:
    def met(results: Results) -> bool | None:
        ours, peer = _get(key)(results, "continuum"), _get(key)(results, "litellm")
        return None if ours is None or not peer else ours >= factor * peer

    return met


def _below(
    value: Callable[[Results, str], float | None], limit: float
) -> Callable[[Results], bool | None]:
    def met(results: Results) -> bool | None:
        ours = value(results, "continuum")
        return None if ours is None else ours < limit

    return met


def _streams_ok(results: Results) -> bool | None:
    ours = results.get("continuum", {})
    if "streams_opened" not in ours:
        return None
    return bool(
        ours["streams_wanted"] >= 10_000
        and ours["streams_opened"] == ours["streams_wanted"]
        and ours["streams_errors"] == 0
        and ours["rss_streams_mb"] < 1024
    )


ROWS = (
    Row(
        "Non-streaming throughput, 64 connections (req/s)",
        _get("rps_64"),
        0,
        ratio=True,
        target=">= 20x LiteLLM",
        met=_ratio_at_least("rps_64", 20),
    ),
    Row("Latency p50, 1 connection (ms)", _get("p50_ms_1"), 3),
    Row(
        "Added latency p50, 1 connection (ms)",
        _added("p50_ms_1"),
        3,
        target="< 1 ms",
        met=_below(_added("p50_ms_1"), 1.0),
    ),
    Row("Added latency p99, 1 connection (ms)", _added("p99_ms_1"), 3),
    Row("Latency p50, 16 connections (ms)", _get("p50_ms_16"), 3),
    Row("Added latency p50, 16 connections (ms)", _added("p50_ms_16"), 3),
    Row("Added latency p99, 16 connections (ms)", _added("p99_ms_16"), 3),
    Row("Time to first chunk p50 (ms)", _get("ttfc_p50_ms"), 3),
    Row(
        "Added time to first chunk p50 (ms)",
        _added("ttfc_p50_ms"),
        3,
        target="< 1 ms",
        met=_below(_added("ttfc_p50_ms"), 1.0),
    ),
    Row("Added time to first chunk p99 (ms)", _added("ttfc_p99_ms"), 3),
    Row("Relayed chunks/s, 20-chunk answers", _get("chunks_per_s_20"), 0, ratio=True),
    Row(
        "Relayed chunks/s, 200-chunk answers",
        _get("chunks_per_s_200"),
        0,
        ratio=True,
        target=">= 40x LiteLLM",
        met=_ratio_at_least("chunks_per_s_200", 40),
    ),
    Row("CPU per relayed chunk, 20-chunk answers (µs)", _get("cpu_us_per_chunk_20"), 1),
    Row(
        "CPU per relayed chunk, 200-chunk answers (µs)",
        _get("cpu_us_per_chunk_200"),
        1,
        target="< 20 µs",
        met=_below(_get("cpu_us_per_chunk_200"), 20.0),
    ),
    Row("CPU seconds per 1,000 requests", _get("cpu_s_per_1000"), 3),
    Row(
        "RSS idle (MB)",
        _get("rss_idle_mb"),
        1,
        target="< 80 MB",
        met=_below(_get("rss_idle_mb"), 80.0),
    ),
    Row("RSS under load, 64 connections (MB)", _get("rss_load_mb"), 1),
    Row("Concurrent slow streams held", _get("streams_opened"), 0),
    Row("Errors while holding them", _get("streams_errors"), 0),
    Row(
        "RSS with the streams open (MB)",
        _get("rss_streams_mb"),
        1,
        target="10,000, no errors, < 1 GiB",
        met=_streams_ok,
    ),
    Row("Memory per open stream (KB)", _get("kb_per_stream"), 1),
)


def _cell(value: float | None, digits: int) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def _as_ours(results: Results, ours: str) -> Results:
    """The results with ``ours`` (the measured Continuum) under the name the checks use."""
    return {**results, "continuum": results.get(ours, {})}


def table(results: Results) -> str:
    order = (
        "direct",
        "continuum-baseline",
        "continuum",
        "continuum-local",
        "continuum-2w",
        "continuum-2w-local",
        "litellm",
    )
    names = [name for name in order if name in results]
    ours = "continuum" if "continuum" in results else "continuum-local"
    labels = [results[name].get("label", name) for name in names]
    header = ["Measure", *labels, f"{results.get(ours, {}).get('label', ours)} / LiteLLM"]
    # The targets are about Continuum relaying an upstream; figures of the local
    # model (no upstream hop) can only be provisional evidence.
    header += ["Target", "Met (local model: provisional)" if ours.endswith("-local") else "Met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in ROWS:
        cells = [_cell(row.value(results, name), row.digits) for name in names]
        ratio = ""
        if row.ratio:
            mine, peer = row.value(results, ours), row.value(results, "litellm")
            ratio = f"{mine / peer:,.1f}x" if mine is not None and peer else "-"
        verdict = row.met(_as_ours(results, ours)) if row.met else None
        met = "" if row.met is None else {True: "yes", False: "**no**", None: "-"}[verdict]
        lines.append("| " + " | ".join([row.label, *cells, ratio, row.target, met]) + " |")
    return "\n".join(lines)

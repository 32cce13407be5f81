"""What ``bench.doors`` measured: the plan of a run, its figures per door and round, and
the report table (medians, and each door against SSE as the median of per-round ratios)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Plan:
    rounds: int
    streams: int
    seconds: float
    warmup: float
    alone: int
    hold_timeout: float = 60.0
    warm: float = 1.0  # seconds of load through each door before measuring it


@dataclass
class Results:
    plan: Plan
    doors: list[str]
    notes: list[str] = field(default_factory=list)
    runs: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def add(self, door: str, figures: dict[str, float], round_: int) -> None:
        runs = self.runs.setdefault(door, [])
        while len(runs) <= round_:
            runs.append({})
        runs[round_].update(figures)

    def median(self, door: str, key: str) -> float:
        values = [run[key] for run in self.runs.get(door, []) if key in run]
        return statistics.median(values) if values else float("nan")


ROWS = (
    ("chunks_per_s", "Chunks/s, {streams} concurrent streams", 0),
    ("gateway_cpu_share", "Gateway CPU meanwhile (cores)", 2),
    ("client_cpu_share", "Client CPU meanwhile (cores; this harness)", 2),
    ("chunks_per_cpu_s", "Chunks per gateway CPU-second (one-core ceiling)", 0),
    ("cpu_us_per_chunk", "Gateway CPU per chunk (µs)", 2),
    ("ttfc_loaded_ms", "Time to first chunk under that load, median (ms)", 1),
    ("ttfc_alone_ms", "Time to first chunk alone, median (ms)", 3),
    ("ttfc_alone_p99_ms", "Time to first chunk alone, p99 (ms)", 3),
    ("held_streams", "Paced streams held open (fresh gateway)", 0),
    ("rss_before_mb", "RSS before them, warmed (MB)", 1),
    ("rss_held_mb", "RSS with them open (MB)", 1),
    ("kb_per_stream", "Memory per open stream (KB)", 1),
    ("errors", "Errors during the load", 0),
)


def table(results: Results) -> str:
    """Medians per door, and each other door against SSE as the median of the ratios taken
    round by round (side by side, so a busy spell of the machine weighs on both)."""
    doors = results.doors
    others = [door for door in doors if door != "sse"] if "sse" in doors else []
    head = "| Measure | " + " | ".join(d.upper() for d in doors)
    head += "".join(f" | {door.upper()} / SSE" for door in others) + " |"
    lines = [head, "|---" * (len(doors) + len(others) + 1) + "|"]
    for key, label, digits in ROWS:
        cells = [f"{results.median(door, key):,.{digits}f}" for door in doors]
        cells += [_ratio(results, door, key) for door in others]
        name = label.format(streams=results.plan.streams)
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _ratio(results: Results, door: str, key: str) -> str:
    pairs = zip(results.runs.get(door, []), results.runs.get("sse", []), strict=False)
    ratios = [run[key] / base[key] for run, base in pairs if base.get(key) and key in run]
    ratios = [ratio for ratio in ratios if ratio == ratio]  # no NaN
    return f"{statistics.median(ratios):.2f}x" if ratios else ""

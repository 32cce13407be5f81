"""``bench.doors`` still runs end to end (a seconds-long smoke run; no figure is judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_measures_every_door(tmp_path: Path) -> None:
    out = tmp_path / "doors.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.doors", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=55,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = orjson.loads(out.read_bytes())["runs"]
    assert {"sse", "tcp"} <= set(runs)  # and "ws" once the WebSocket door exists
    for door, (figures,) in runs.items():
        assert figures["chunks_per_s"] > 0 and figures["errors"] == 0, door
        assert figures["answers"] > 0 and figures["ttfc_alone_ms"] > 0, door
        assert figures["held_streams"] == 20, door
    assert "| Chunks/s, 20 concurrent streams |" in done.stdout

"""The benchmark harness still works end to end (seconds-long smoke run, no figures judged)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (bench/setup)"),
]


def test_smoke_run_measures_every_part(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-litellm", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run,) = tmp_path.glob("run-*")
    results = orjson.loads((run / "results.json").read_bytes())["results"]
    ours = results.get("continuum") or results["continuum-local"]
    for measured in (results["direct"], ours):
        assert measured["rps_64"] > 0 and measured["errors_64"] == 0
        assert measured["ttfc_samples"] > 0 and measured["ttfc_errors"] == 0
        assert measured["chunks_per_s_20"] > 0 and measured["errors_stream_20"] == 0
    assert ours["complete_answer_20"] is True
    assert ours["streams_opened"] == ours["streams_wanted"] and ours["streams_errors"] == 0
    assert ours["rss_idle_mb"] > 0 and ours["cpu_s_per_1000"] > 0
    table = (run / "results.md").read_text()
    assert "Non-streaming throughput" in table and "| Direct (no gateway) |" in table

"""Schemathesis over /openapi.json for a few seconds: no 5xx, only documented statuses.

The long run is ``python -m bench.fuzz --seconds 600`` (see docs/performance.md).
"""

from __future__ import annotations

import re

from bench.fuzz import fuzz


def test_schemathesis_finds_no_server_error_and_no_undocumented_status() -> None:
    done = fuzz(seconds=5, seed=9, workers=1)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    counted = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counted is not None, done.stdout[-3000:]
    generated, passed = map(int, counted.groups())
    assert generated >= 20 and passed == generated  # it ran (how many: the machine says)

"""``python -m bench``: the side-by-side benchmark (see docs/performance.md).

bench/run              # full run, under ~10 minutes
bench/run --quick      # under 2 minutes
bench/run --workers 2  # adds a Continuum run with 2 worker processes
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench import report, suite, targets
from bench.procs import prepare_process
from bench.targets import RESULTS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="short runs, one repeat (< 2 min)")
    mode.add_argument("--smoke", action="store_true", help="seconds-long check of the harness")
    parser.add_argument("--workers", type=int, default=1, help="also run Continuum with N workers")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM even if set up")
    parser.add_argument(
        "--local",
        action="store_true",
        help="also measure Continuum serving its local echo model (no upstream hop)",
    )
    parser.add_argument("--no-streams", action="store_true", help="skip the held-streams test")
    parser.add_argument(
        "--only",
        choices=("direct", "continuum", "litellm"),
        action="append",
        help="measure only these targets (repeatable; direct is always measured)",
    )
    parser.add_argument(
        "--baseline",
        metavar="PYTHON",
        help="also measure the Continuum installed in this interpreter (e.g. an older "
        "checkout's .venv/bin/python), side by side in the same run",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    return parser


def _log(message: str) -> None:
    print(message, flush=True)


def _loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = suite.SMOKE if args.smoke else suite.QUICK if args.quick else suite.FULL
    prepare_process(int(targets.CLIENT_CPUS))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.out / f"run-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only or ("direct", "continuum", "litellm"))
    with_litellm = "litellm" in wanted and not args.no_litellm
    if with_litellm and not targets.litellm_available():
        _log("LiteLLM is not set up (bench/setup-litellm); measuring without it.")
        with_litellm = False

    meta: dict[str, Any] = {
        "started": stamp,
        "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        "plan": dataclasses.asdict(plan),
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "loadavg_start": _loadavg(),
    }
    results: report.Results = {}
    began = time.monotonic()
    upstreams = targets.Upstreams(workdir, plan.slow_delay).start()
    chunks: dict[str, int] = {}
    answers: dict[str, str] = {}
    try:
        _log("direct (the fake upstream alone)")
        results["direct"] = suite.measure(targets.direct(upstreams), plan, _log, chunks, answers)
        chosen: list[targets.Target] = []
        proxied = targets.openai_provider_available()
        if "continuum" in wanted and proxied and args.baseline:
            chosen.append(targets.continuum(workdir, upstreams, python=args.baseline))
        if "continuum" in wanted and proxied:
            chosen.append(targets.continuum(workdir, upstreams))
        if "continuum" in wanted and (args.local or not proxied):
            if not proxied:
                _log("This Continuum has no 'openai' provider: measuring its local model.")
            chosen.append(targets.continuum(workdir, upstreams, local=True))
        if with_litellm:
            chosen.append(targets.litellm(workdir, upstreams))
        if "continuum" in wanted and args.workers > 1:
            chosen.append(targets.continuum(workdir, upstreams, args.workers, local=not proxied))
        for target in chosen:
            _log(f"{target.label}")
            assert target.service is not None
            with target.service:
                results[target.name] = suite.measure(target, plan, _log, chunks, answers)
                if not args.no_streams and target.workers == 1:
                    peer = target.name == "litellm"
                    count = plan.peer_streams if peer else plan.streams
                    timeout = plan.peer_open_timeout if peer else plan.stream_open_timeout
                    results[target.name].update(suite.hold(target, count, timeout, _log))
    finally:
        upstreams.stop()
    meta["seconds"] = round(time.monotonic() - began, 1)
    meta["loadavg_end"] = _loadavg()

    markdown = report.table(results)
    note = (
        f"\n\n{meta['mode']} run {stamp}, {meta['seconds']} s, {meta['cores']} cores, "
        f"load average {meta['loadavg_start']} → {meta['loadavg_end']}; "
        f"medians of {plan.repeats} run(s).\n"
    )
    (workdir / "results.md").write_text(markdown + note)
    (workdir / "results.json").write_bytes(
        orjson.dumps({"meta": meta, "results": results}, option=orjson.OPT_INDENT_2)
    )
    latest = args.out / "latest"
    with contextlib.suppress(OSError):
        latest.unlink(missing_ok=True)
        latest.symlink_to(workdir.name)
    _log("\n" + markdown + note)
    _log(f"Results: {workdir / 'results.md'} and {workdir / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

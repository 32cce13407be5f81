"""``python -m bench.soak`` (``bench/soak``): does Continuum's memory stay flat under load?

Opt-in and bounded (5 minutes by default). Continuum runs in front of the fake
upstream, as in the main suite, through repeated cycles of: non-streaming load,
streaming load, and a burst of streams that the client drops mid-answer (the
cancellation path). The RSS is read after every cycle; the verdict compares the
mean of the last third of the cycles with the mean of the first third (after one
warm-up cycle), so a single noisy reading does not decide it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from bench import clients, targets, wrk
from bench.procs import prepare_process
from bench.suite import MiB, body
from bench.targets import RESULTS

# Growth allowed between the first and last third before we call it a leak.
ALLOWED_GROWTH_MB = 5.0


def _drop_streams(target: targets.Target, count: int) -> int:
    def nothing() -> None:
        return None

    result = asyncio.run(
        clients.hold_streams(
            target.port("bench-slow"),
            targets.CHAT,
            body("bench-slow", True),
            target.key,
            count=count,
            open_timeout=30,
            while_held=nothing,
        )
    )
    return result.errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long (default 5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    prepare_process(int(targets.CLIENT_CPUS))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.out / f"soak-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    upstreams = targets.Upstreams(workdir).start()
    samples: list[dict[str, float]] = []
    requests = errors = 0
    try:
        local = not targets.openai_provider_available()
        target = targets.continuum(workdir, upstreams, local=local)
        assert target.service is not None
        with target.service as service:
            began = time.monotonic()
            deadline = began + args.minutes * 60
            while time.monotonic() < deadline:
                for model, stream in (("bench-20", False), ("bench-200", True)):
                    run = wrk.run(
                        target.url(model),
                        body(model, stream),
                        connections=args.connections,
                        seconds=10,
                        key=target.key,
                        cpus=targets.CLIENT_CPUS,
                    )
                    requests += run.requests
                    errors += run.errors
                errors += _drop_streams(target, 500)
                time.sleep(1.0)  # let the dropped streams' cleanup finish before reading
                samples.append(
                    {"t": round(time.monotonic() - began, 1), "rss_mb": service.rss() / MiB}
                )
                print(
                    f"  {samples[-1]['t']:6.0f} s  RSS {samples[-1]['rss_mb']:.1f} MB, "
                    f"{requests} requests, {errors} errors",
                    flush=True,
                )
    finally:
        upstreams.stop()
    steady = samples[1:] if len(samples) > 3 else samples
    third = max(1, len(steady) // 3)
    first = statistics.mean(s["rss_mb"] for s in steady[:third])
    last = statistics.mean(s["rss_mb"] for s in steady[-third:])
    growth = last - first
    verdict = "flat" if growth < ALLOWED_GROWTH_MB and errors == 0 else "GROWING or errors"
    summary = {
        "minutes": args.minutes,
        "requests": requests,
        "errors": errors,
        "rss_first_third_mb": first,
        "rss_last_third_mb": last,
        "growth_mb": growth,
        "verdict": verdict,
        "samples": samples,
    }
    (workdir / "soak.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print(
        f"\nSoak, {args.minutes:g} min: {requests} requests, {errors} errors; RSS "
        f"{first:.1f} MB -> {last:.1f} MB ({growth:+.1f} MB): {verdict}\n"
        f"Results: {workdir / 'soak.json'}"
    )
    return 0 if verdict == "flat" else 1


if __name__ == "__main__":
    raise SystemExit(main())

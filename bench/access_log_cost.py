"""What the access line costs a request: record, redaction filter, format and write.

    .venv/bin/python -m bench.access_log_cost [--rounds 100] [--calls 2000]

Writes ``AccessLog.request_finished`` lines through the handler ``configure_logging``
installs (redaction on), to an in-memory stream so the disk is not what is measured,
as JSON and as text; and, side by side, the same record through a bare
``logging.StreamHandler`` with no filter and the default formatter, and with the access
log disabled. Medians over rounds, in ns per request.
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import time
from collections.abc import Callable

from continuum.observability.access import AccessLog
from continuum.observability.logging import configure_logging
from continuum.observability.redaction import Redactor


def line(access: AccessLog) -> None:
    access.request_finished(
        request_id="chatcmpl-5f0c2a9e41d8b7a6",
        door="openai",
        model="local-text",
        deployment="local",
        status=200,
        latency_s=0.01234,
        ttft_s=0.0021,
        prompt_tokens=12,
        completion_tokens=40,
        user="full",
        key_id="key_0123456789",
    )


def setups(secrets: list[str]) -> dict[str, Callable[[], io.StringIO]]:
    def ours(fmt: str) -> Callable[[], io.StringIO]:
        def setup() -> io.StringIO:
            stream = io.StringIO()
            handler = configure_logging("info", fmt=fmt, stream=stream, redactor=Redactor(secrets))  # type: ignore[arg-type]
            logging.getLogger().handlers[:] = [handler]
            return stream

        return setup

    def bare() -> io.StringIO:
        stream = io.StringIO()
        logging.getLogger().handlers[:] = [logging.StreamHandler(stream)]
        logging.getLogger().setLevel(logging.INFO)
        return stream

    def off() -> io.StringIO:
        logging.getLogger().setLevel(logging.WARNING)
        return io.StringIO()

    return {
        "JSON, redacted (configure_logging)": ours("json"),
        "text, redacted (configure_logging)": ours("text"),
        "bare StreamHandler, no filter": bare,
        "access log below the level": off,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    secrets = [f"sk-user-token-{i:04d}-abcdefgh" for i in range(100)]  # a 100-user users.yml
    access = AccessLog(Redactor(secrets))
    variants = setups(secrets)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, setup in variants.items():
            stream = setup()
            started = time.perf_counter_ns()
            for _ in range(args.calls):
                line(access)
            samples[name].append((time.perf_counter_ns() - started) / args.calls)
            stream.close()
    print(f"{'access line (median ns per request)':<40} {'ns':>8}")
    for name, values in samples.items():
        print(f"{name:<40} {statistics.median(values):>8,.0f}")


if __name__ == "__main__":
    main()

"""One worker process writing metrics in multiprocess mode, for tests.

    PROMETHEUS_MULTIPROC_DIR=<dir> python -m tests.observability.mp_worker REQUESTS STREAMS

Records REQUESTS finished requests, opens STREAMS streams, flushes, prints ``ready``
and keeps the streams open until its stdin closes; then closes cleanly.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from continuum.observability.metrics import Metrics
from continuum.observability.multiprocess import ENV


async def main(requests: int, streams: int) -> None:
    metrics = Metrics(multiprocess_dir=Path(os.environ[ENV]), flush_interval=0.05)
    await metrics.start()
    for i in range(requests):
        metrics.request_finished("openai", "local-text", "local", 200, 0.01 * (i % 10), 0.002, 3, 4)
    metrics.rate_limited("openai", "local-text")
    for _ in range(streams):
        metrics.stream_opened("openai")
    metrics.flush()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for _ in range(streams):
        metrics.stream_closed("openai")
    await metrics.aclose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
